import { integerFromEnv } from '@app/platform';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { POOL_PATTERN } from '@app/contracts';

export interface DispatcherConfig {
  id: string;
  pool: string;
  concurrency: number;
  workDir: string;
  stateDir: string;
  heartbeatIntervalMs: number;
  killGraceMs: number;
  logBatchLines: number;
  logBatchMs: number;
  maxLineLength: number;
  /** Lines buffered per operation before the task's output is paused. */
  maxBufferedLines: number;
  shutdownGraceMs: number;
}

export const DISPATCHER_CONFIG = Symbol('DISPATCHER_CONFIG');

export function dispatcherConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DispatcherConfig {
  const pool = env.DISPATCHER_POOL || 'default';
  if (!POOL_PATTERN.test(pool)) {
    throw new Error(
      `DISPATCHER_POOL must match ${String(POOL_PATTERN)}, got ${JSON.stringify(pool)}`,
    );
  }
  return {
    id: env.DISPATCHER_ID || `${hostname()}-${process.pid}`,
    pool,
    concurrency: integerFromEnv(env, 'DISPATCHER_CONCURRENCY', 4),
    workDir: resolve(env.DISPATCHER_WORK_DIR || join(tmpdir(), 'aegir-work')),
    stateDir: resolve(env.DISPATCHER_STATE_DIR || join(tmpdir(), 'aegir-state')),
    heartbeatIntervalMs: integerFromEnv(env, 'DISPATCHER_HEARTBEAT_MS', 5000),
    killGraceMs: integerFromEnv(env, 'DISPATCHER_KILL_GRACE_MS', 5000),
    logBatchLines: integerFromEnv(env, 'DISPATCHER_LOG_BATCH_LINES', 500),
    logBatchMs: integerFromEnv(env, 'DISPATCHER_LOG_BATCH_MS', 25),
    maxLineLength: integerFromEnv(env, 'DISPATCHER_MAX_LINE_LENGTH', 65536),
    maxBufferedLines: integerFromEnv(env, 'DISPATCHER_MAX_BUFFERED_LINES', 20000),
    shutdownGraceMs: integerFromEnv(env, 'DISPATCHER_SHUTDOWN_GRACE_MS', 30000, 0),
  };
}
