export interface RelayConfig {
  outboxPollMs: number;
  outboxBatch: number;
  eventsPrefetch: number;
  eventsBatch: number;
  eventsBatchMs: number;
  /** Wait between tries while PostgreSQL does not answer. */
  databaseRetryMs: number;
}

export const RELAY_CONFIG = Symbol('RELAY_CONFIG');

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export function relayConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  return {
    outboxPollMs: int(env, 'RELAY_OUTBOX_POLL_MS', 1000),
    outboxBatch: int(env, 'RELAY_OUTBOX_BATCH', 100),
    eventsPrefetch: int(env, 'RELAY_EVENTS_PREFETCH', 2000),
    eventsBatch: int(env, 'RELAY_EVENTS_BATCH', 1000),
    eventsBatchMs: int(env, 'RELAY_EVENTS_BATCH_MS', 10),
    databaseRetryMs: int(env, 'RELAY_DATABASE_RETRY_MS', 1000),
  };
}
