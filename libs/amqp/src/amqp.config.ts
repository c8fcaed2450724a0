import { integerFromEnv } from '@app/platform';

export interface AmqpOptions {
  url: string;
  /** How long a publish may wait for the broker's confirm (or for the broker to come back). */
  publishTimeoutMs: number;
  /** How long start-up waits for the first connection. */
  connectTimeoutMs: number;
}

const DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672/';

export function amqpOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): AmqpOptions {
  const url = env.AMQP_URL || DEFAULT_URL;
  if (!/^amqps?:\/\//.test(url)) {
    throw new Error('AMQP_URL must start with amqp:// or amqps://');
  }
  return {
    url,
    publishTimeoutMs: integerFromEnv(env, 'AMQP_PUBLISH_TIMEOUT_MS', 10_000),
    connectTimeoutMs: integerFromEnv(env, 'AMQP_CONNECT_TIMEOUT_MS', 15_000),
  };
}
