import { DEFAULT_LOST_AFTER_MS } from '@app/database';
import { IntegerVariable, MatchingVariable, PathVariable } from '@app/platform';

export class RelaySettings {
  /** The port of `/metrics` and `/health/live`, `/health/ready`; 0: none opened. */
  @IntegerVariable('RELAY_HTTP_PORT', { min: 0, max: 65535 })
  readonly httpPort: number = 9101;

  /** The address that port listens on. An empty value is refused, not taken for the default. */
  @MatchingVariable('RELAY_HTTP_HOST', /\S/, { rule: 'not be empty', emptyIsValue: true })
  readonly httpHost: string = '127.0.0.1';

  /** Outbox polling when no NOTIFY arrives. */
  @IntegerVariable('RELAY_OUTBOX_POLL_MS', { min: 1 })
  readonly outboxPollMs: number = 1000;

  /** Outbox rows claimed at once. */
  @IntegerVariable('RELAY_OUTBOX_BATCH', { min: 1 })
  readonly outboxBatch: number = 100;

  /**
   * Unacked events held. Each is acked at its batch's commit, so this bounds the messages one
   * commit can take: with many operations at once (each sends one message at a time), 64 held
   * lines back for ~300 ms; 256 for ~60 ms (bench phase 5, 50 operations).
   */
  @IntegerVariable('RELAY_EVENTS_PREFETCH', { min: 1 })
  readonly eventsPrefetch: number = 256;

  /** Events written per transaction. */
  @IntegerVariable('RELAY_EVENTS_BATCH', { min: 1 })
  readonly eventsBatch: number = 64;

  /** Longest wait to fill a batch. */
  @IntegerVariable('RELAY_EVENTS_BATCH_MS', { min: 1 })
  readonly eventsBatchMs: number = 10;

  /** Batches written at once, on as many connections; an operation's events keep one lane. */
  @IntegerVariable('RELAY_EVENTS_LANES', { min: 1 })
  readonly eventsLanes: number = 2;

  /** Wait between tries while PostgreSQL does not answer. */
  @IntegerVariable('RELAY_DATABASE_RETRY_MS', { min: 1 })
  readonly databaseRetryMs: number = 1000;

  /**
   * A running operation whose dispatcher is silent this long is `lost`; the dispatcher is
   * shown `silent` by `GET /workers` and `aegir workers`.
   */
  @IntegerVariable('RELAY_LOST_AFTER_MS', { min: 1 })
  readonly lostAfterMs: number = DEFAULT_LOST_AFTER_MS;

  /** How often that is checked. */
  @IntegerVariable('RELAY_LOST_CHECK_MS', { min: 1 })
  readonly lostCheckMs: number = 5000;

  /**
   * How long a dispatch stays valid after it is published: it may wait in its pool's queue
   * while no dispatcher is up. One that expired is dead-lettered by the dispatcher, and the
   * operation ends `lost` once it is this old with no dispatcher holding it.
   */
  @IntegerVariable('RELAY_DISPATCH_TTL_MS', { min: 1 })
  readonly dispatchTtlMs: number = 24 * 60 * 60 * 1000;

  /** How long a claim answer or a cancel stays valid after it is published. */
  @IntegerVariable('RELAY_CONTROL_TTL_MS', { min: 1 })
  readonly controlTtlMs: number = 5 * 60 * 1000;

  /** The relay's Ed25519 private key (`aegir keys:create`): it signs what dispatchers run. */
  @PathVariable('RELAY_SIGNING_KEY_FILE', { required: 'the path of the relay-signing.key file' })
  readonly signingKeyFile!: string;
}
