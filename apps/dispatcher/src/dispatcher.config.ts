import { integerFromEnv } from '@app/platform';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { POOL_PATTERN } from '@app/contracts';
import { ANSI_MODES, type AnsiMode } from '@app/runner';

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
  /** Lines buffered per operation before the task's output is paused (or spilled to disk). */
  maxBufferedLines: number;
  /** Bytes of line text buffered in memory per operation, likewise. */
  maxBufferedBytes: number;
  /** A `log` event is sent once its lines' text reaches this many bytes. */
  logBatchBytes: number;
  /** Bytes of spilled batches on disk per operation before the task's output is paused. */
  spillMaxBytes: number;
  /** Whether ANSI escapes in task output are kept or stripped. */
  ansi: AnsiMode;
  shutdownGraceMs: number;
  /** How long to wait for the relay's answer to a claim before asking again. */
  claimTimeoutMs: number;
}

export const DISPATCHER_CONFIG = Symbol('DISPATCHER_CONFIG');

const MiB = 1024 * 1024;

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
    claimTimeoutMs: integerFromEnv(env, 'DISPATCHER_CLAIM_TIMEOUT_MS', 10000),
    maxBufferedBytes: integerFromEnv(env, 'DISPATCHER_MAX_BUFFERED_BYTES', 2 * MiB),
    logBatchBytes: integerFromEnv(env, 'DISPATCHER_LOG_BATCH_BYTES', 256 * 1024),
    spillMaxBytes: integerFromEnv(env, 'DISPATCHER_SPILL_MAX_BYTES', 1024 * MiB, 0),
    ansi: ansiFromEnv(env),
  };
}

function ansiFromEnv(env: NodeJS.ProcessEnv): AnsiMode {
  const ansi = env.DISPATCHER_ANSI || 'strip';
  if (!(ANSI_MODES as readonly string[]).includes(ansi)) {
    throw new Error(
      `DISPATCHER_ANSI must be one of ${ANSI_MODES.join(', ')}, got ${JSON.stringify(ansi)}`,
    );
  }
  return ansi as AnsiMode;
}
