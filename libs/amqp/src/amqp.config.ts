export interface AmqpOptions {
  url: string;
  /** How long a publish may wait for the broker's confirm (or for the broker to come back). */
  publishTimeoutMs: number;
  /** How long start-up waits for the first connection. */
  connectTimeoutMs: number;
}

const DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672/';

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function amqpOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): AmqpOptions {
  const url = env.AMQP_URL || DEFAULT_URL;
  if (!/^amqps?:\/\//.test(url)) {
    throw new Error('AMQP_URL must start with amqp:// or amqps://');
  }
  return {
    url,
    publishTimeoutMs: positiveInt(env, 'AMQP_PUBLISH_TIMEOUT_MS', 10_000),
    connectTimeoutMs: positiveInt(env, 'AMQP_CONNECT_TIMEOUT_MS', 15_000),
  };
}

/** A broker or database URL fit for a log line: the password is never shown. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}
