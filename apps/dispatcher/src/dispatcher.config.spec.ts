import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '@app/runner';
import { dispatcherConfigFromEnv } from './dispatcher.config';
import { taskOutcome } from './operation-run';

describe('dispatcherConfigFromEnv', () => {
  it('has working defaults for an empty environment', () => {
    assert.deepEqual(dispatcherConfigFromEnv({}), {
      id: `${hostname()}-${process.pid}`,
      pool: 'default',
      concurrency: 4,
      workDir: join(tmpdir(), 'aegir-work'),
      stateDir: join(tmpdir(), 'aegir-state'),
      heartbeatIntervalMs: 5000,
      killGraceMs: 5000,
      logBatchLines: 500,
      logBatchMs: 25,
      maxLineLength: 65536,
      maxBufferedLines: 20000,
      shutdownGraceMs: 30000,
      claimTimeoutMs: 10000,
      maxBufferedBytes: 2 * 1024 * 1024,
      logBatchBytes: 256 * 1024,
      spillMaxBytes: 1024 * 1024 * 1024,
      ansi: 'strip',
    });
  });

  it('reads every variable, and makes the directories absolute', () => {
    const config = dispatcherConfigFromEnv({
      DISPATCHER_ID: 'disp-1',
      DISPATCHER_POOL: 'web_2',
      DISPATCHER_CONCURRENCY: '2',
      DISPATCHER_WORK_DIR: 'relative/work',
      DISPATCHER_STATE_DIR: '/var/lib/aegir',
      DISPATCHER_HEARTBEAT_MS: '1000',
      DISPATCHER_KILL_GRACE_MS: '200',
      DISPATCHER_LOG_BATCH_LINES: '10',
      DISPATCHER_LOG_BATCH_MS: '5',
      DISPATCHER_MAX_LINE_LENGTH: '100',
      DISPATCHER_MAX_BUFFERED_LINES: '50',
      DISPATCHER_SHUTDOWN_GRACE_MS: '0',
      DISPATCHER_CLAIM_TIMEOUT_MS: '300',
      DISPATCHER_MAX_BUFFERED_BYTES: '4096',
      DISPATCHER_LOG_BATCH_BYTES: '1024',
      DISPATCHER_SPILL_MAX_BYTES: '0',
      DISPATCHER_ANSI: 'keep',
    });
    assert.deepEqual(config, {
      id: 'disp-1',
      pool: 'web_2',
      concurrency: 2,
      workDir: join(process.cwd(), 'relative/work'),
      stateDir: '/var/lib/aegir',
      heartbeatIntervalMs: 1000,
      killGraceMs: 200,
      logBatchLines: 10,
      logBatchMs: 5,
      maxLineLength: 100,
      maxBufferedLines: 50,
      shutdownGraceMs: 0,
      claimTimeoutMs: 300,
      maxBufferedBytes: 4096,
      logBatchBytes: 1024,
      spillMaxBytes: 0,
      ansi: 'keep',
    });
  });

  it('treats an empty value as unset', () => {
    const config = dispatcherConfigFromEnv({ DISPATCHER_POOL: '', DISPATCHER_CONCURRENCY: '' });
    assert.equal(config.pool, 'default');
    assert.equal(config.concurrency, 4);
  });

  for (const pool of ['Bad Pool!', 'UPPER', '-leading-dash', 'a/b', 'x'.repeat(64)]) {
    it(`refuses DISPATCHER_POOL ${JSON.stringify(pool)}, naming the variable`, () => {
      assert.throws(() => dispatcherConfigFromEnv({ DISPATCHER_POOL: pool }), {
        message: new RegExp(`^DISPATCHER_POOL must match .*got ${JSON.stringify(pool)}`),
      });
    });
  }

  const badIntegers: [string, string][] = [
    ['DISPATCHER_CONCURRENCY', 'abc'],
    ['DISPATCHER_CONCURRENCY', '0'],
    ['DISPATCHER_CONCURRENCY', '1.5'],
    ['DISPATCHER_HEARTBEAT_MS', '-5'],
    ['DISPATCHER_KILL_GRACE_MS', '5s'],
    ['DISPATCHER_LOG_BATCH_LINES', '1e3'],
    ['DISPATCHER_LOG_BATCH_MS', 'NaN'],
    ['DISPATCHER_MAX_LINE_LENGTH', '99999999999999999999'],
    ['DISPATCHER_MAX_BUFFERED_LINES', '0'],
    ['DISPATCHER_SHUTDOWN_GRACE_MS', '-1'],
    ['DISPATCHER_CLAIM_TIMEOUT_MS', '0'],
    ['DISPATCHER_MAX_BUFFERED_BYTES', '32M'],
    ['DISPATCHER_LOG_BATCH_BYTES', '0'],
    ['DISPATCHER_SPILL_MAX_BYTES', '-1'],
  ];
  for (const [name, value] of badIntegers) {
    it(`refuses ${name}=${JSON.stringify(value)}, naming the variable`, () => {
      assert.throws(() => dispatcherConfigFromEnv({ [name]: value }), {
        message: new RegExp(`^${name} must be an integer >= \\d+, got "${value}"`),
      });
    });
  }
});

describe('DISPATCHER_ANSI', () => {
  for (const value of ['STRIP', 'remove', 'true', ' keep']) {
    it(`refuses ${JSON.stringify(value)}, naming the variable`, () => {
      assert.throws(() => dispatcherConfigFromEnv({ DISPATCHER_ANSI: value }), {
        message: `DISPATCHER_ANSI must be one of keep, strip, got ${JSON.stringify(value)}`,
      });
    });
  }

  it('accepts keep and strip', () => {
    assert.equal(dispatcherConfigFromEnv({ DISPATCHER_ANSI: 'keep' }).ansi, 'keep');
    assert.equal(dispatcherConfigFromEnv({ DISPATCHER_ANSI: 'strip' }).ansi, 'strip');
  });
});

describe('taskOutcome', () => {
  const run = (result: Omit<RunResult, 'durationMs'>): RunResult => ({ ...result, durationMs: 5 });

  it('exit code 0 is succeeded, with no reason', () => {
    assert.deepEqual(taskOutcome(run({ outcome: 'exited', exitCode: 0, signal: null })), {
      status: 'succeeded',
      reason: null,
    });
  });

  it('another exit code is failed, naming the code', () => {
    assert.deepEqual(taskOutcome(run({ outcome: 'exited', exitCode: 3, signal: null })), {
      status: 'failed',
      reason: 'exited with code 3',
    });
  });

  it('death by a signal nobody sent on purpose is failed, naming the signal', () => {
    assert.deepEqual(taskOutcome(run({ outcome: 'exited', exitCode: null, signal: 'SIGSEGV' })), {
      status: 'failed',
      reason: 'killed by SIGSEGV',
    });
  });

  it('a timeout is timed_out, with the runner’s reason or a default', () => {
    assert.deepEqual(
      taskOutcome(
        run({
          outcome: 'timed_out',
          exitCode: null,
          signal: 'SIGTERM',
          error: 'timed out after 30000 ms',
        }),
      ),
      { status: 'timed_out', reason: 'timed out after 30000 ms' },
    );
    assert.deepEqual(
      taskOutcome(run({ outcome: 'timed_out', exitCode: null, signal: 'SIGKILL' })),
      { status: 'timed_out', reason: 'timed out' },
    );
  });

  it('a stop is cancelled, with the runner’s reason or a default', () => {
    assert.deepEqual(
      taskOutcome(
        run({
          outcome: 'cancelled',
          exitCode: null,
          signal: 'SIGTERM',
          error: 'stopped: cancelled',
        }),
      ),
      { status: 'cancelled', reason: 'stopped: cancelled' },
    );
    // Even when the process caught SIGTERM and exited 0, a stopped task did not succeed.
    assert.deepEqual(taskOutcome(run({ outcome: 'cancelled', exitCode: 0, signal: null })), {
      status: 'cancelled',
      reason: 'cancelled',
    });
  });

  it('a process that could not start is failed, with the spawn error', () => {
    assert.deepEqual(
      taskOutcome(
        run({
          outcome: 'spawn_failed',
          exitCode: null,
          signal: null,
          error: 'command not found: nope',
        }),
      ),
      { status: 'failed', reason: 'command not found: nope' },
    );
    assert.deepEqual(taskOutcome(run({ outcome: 'spawn_failed', exitCode: null, signal: null })), {
      status: 'failed',
      reason: 'could not start the process',
    });
  });
});
