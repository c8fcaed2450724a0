import { IntegerVariable, MatchingVariable, redactUrl } from '@app/platform';

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672/';

/** RabbitMQ, for every app that holds its credentials (relay, dispatcher, console). */
export class AmqpSettings {
  /** The vhost is the URL's path. */
  @MatchingVariable('AMQP_URL', /^amqps?:\/\//, {
    rule: 'start with amqp:// or amqps://',
    shownAs: redactUrl,
  })
  readonly url: string = DEFAULT_AMQP_URL;

  /** How long a publish may wait for the broker's confirm (or for the broker to come back). */
  @IntegerVariable('AMQP_PUBLISH_TIMEOUT_MS', { min: 1 })
  readonly publishTimeoutMs: number = 10_000;

  /** How long start-up waits for the first connection. */
  @IntegerVariable('AMQP_CONNECT_TIMEOUT_MS', { min: 1 })
  readonly connectTimeoutMs: number = 15_000;
}
