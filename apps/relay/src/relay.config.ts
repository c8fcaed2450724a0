import { integerFromEnv } from '@app/platform';
export interface RelayConfig {
  outboxPollMs: number;
  outboxBatch: number;
  eventsPrefetch: number;
  eventsBatch: number;
  eventsBatchMs: number;
  /** Batches written at once, on as many connections; an operation's events keep one lane. */
  eventsLanes: number;
  /** Wait between tries while PostgreSQL does not answer. */
  databaseRetryMs: number;
  /** A running operation whose dispatcher is silent this long is `lost`. */
  lostAfterMs: number;
  lostCheckMs: number;
}

export const RELAY_CONFIG = Symbol('RELAY_CONFIG');

export function relayConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  return {
    outboxPollMs: integerFromEnv(env, 'RELAY_OUTBOX_POLL_MS', 1000),
    outboxBatch: integerFromEnv(env, 'RELAY_OUTBOX_BATCH', 100),
    eventsPrefetch: integerFromEnv(env, 'RELAY_EVENTS_PREFETCH', 64),
    eventsBatch: integerFromEnv(env, 'RELAY_EVENTS_BATCH', 32),
    eventsBatchMs: integerFromEnv(env, 'RELAY_EVENTS_BATCH_MS', 10),
    eventsLanes: integerFromEnv(env, 'RELAY_EVENTS_LANES', 2),
    databaseRetryMs: integerFromEnv(env, 'RELAY_DATABASE_RETRY_MS', 1000),
    lostAfterMs: integerFromEnv(env, 'RELAY_LOST_AFTER_MS', 60000),
    lostCheckMs: integerFromEnv(env, 'RELAY_LOST_CHECK_MS', 5000),
  };
}
