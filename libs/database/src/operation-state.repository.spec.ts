import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { OperationPlan } from '@app/catalogue';
import type {
  ClaimMessage,
  ClaimResultMessage,
  HeartbeatMessage,
  OperationStatus,
  StatusMessage,
} from '@app/contracts';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { openTestDataSource, type TestDatabase } from '../../../test/support/database';
import { at, statusMessage, testPlan } from '../../../test/support/messages';
import { LOG_CHANNEL, OUTBOX_CHANNEL } from './channels';
import { ConflictError } from './conflict-error';
import {
  OperationStateRepository,
  retryDelaySeconds,
  type StartedOperation,
} from './operation-state.repository';

function claim(operationId: string, dispatcherId: string): ClaimMessage {
  return {
    v: 1,
    kind: 'claim',
    operationId,
    dispatcherId,
    replyTo: `aegir.control.${dispatcherId}`,
    at: new Date().toISOString(),
  };
}

interface OperationRow {
  status: OperationStatus;
  reason: string | null;
  exit_code: number | null;
  dispatcher_id: string | null;
  line_count: string | null;
  lines_stored: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  dispatched_at: Date | null;
  heartbeat_at: Date | null;
}

describe('OperationStateRepository', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let state: OperationStateRepository;
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    ({ db, ds, close } = await openTestDataSource('aegir_test_state'));
    state = new OperationStateRepository(ds);
  });

  after(async () => {
    await close?.();
  });

  const operation = async (id: string): Promise<OperationRow> => {
    const [row]: OperationRow[] = await ds.query(
      `SELECT status, reason, exit_code, dispatcher_id, line_count, lines_stored, started_at,
              finished_at, dispatched_at, heartbeat_at
         FROM operations WHERE id = $1`,
      [id],
    );
    return row;
  };

  const tasks = async (id: string) =>
    ds.query<{ id: string; status: OperationStatus; reason: string | null; finished_at: Date }[]>(
      `SELECT id, status, reason, finished_at FROM tasks WHERE operation_id = $1 ORDER BY position`,
      [id],
    );

  const outboxRows = async (id: string) =>
    ds.query<
      {
        id: string;
        kind: string;
        published_at: Date | null;
        attempts: number;
        last_error: string | null;
        delay: number;
      }[]
    >(
      `SELECT id, kind, published_at, attempts, last_error,
              extract(epoch FROM available_at - now())::float AS delay
         FROM outbox WHERE operation_id = $1 ORDER BY id`,
      [id],
    );

  /** A new operation put straight into a status (with its dispatcher when running). */
  const inStatus = async (value: OperationStatus, overrides: Partial<OperationPlan> = {}) => {
    const id = await state.create(testPlan(overrides));
    await ds.query(
      `UPDATE operations SET status = $2,
              dispatcher_id = CASE WHEN $2 = 'running' THEN 'dispatcher-1' END,
              started_at = CASE WHEN $2 = 'running' THEN now() END
        WHERE id = $1`,
      [id, value],
    );
    return id;
  };

  const inTransaction = <T>(work: (manager: DataSource['manager']) => Promise<T>) =>
    ds.transaction(work);

  /** The payloads NOTIFYed on each channel while `action` runs, and a moment after. */
  async function notified(action: () => Promise<unknown>): Promise<Record<string, string[]>> {
    const listener = new Client({ connectionString: db.url, application_name: 'aegir-test' });
    await listener.connect();
    try {
      const heard: Record<string, string[]> = { [LOG_CHANNEL]: [], [OUTBOX_CHANNEL]: [] };
      listener.on('notification', (n) => heard[n.channel]?.push(n.payload ?? ''));
      await listener.query(`LISTEN ${LOG_CHANNEL}`);
      await listener.query(`LISTEN ${OUTBOX_CHANNEL}`);
      await action();
      await new Promise((resolve) => setTimeout(resolve, 300));
      return heard;
    } finally {
      await listener.end();
    }
  }

  describe('dispatched', () => {
    beforeEach(async () => {
      await ds.query(`DELETE FROM operations`);
    });

    it('claims the rows ready to go, with their operation status, and locks them', async () => {
      const ready = await state.create(testPlan());
      const later = await state.create(testPlan(), { delaySeconds: 60 });
      const rows = await inTransaction(async (manager) => {
        const claimed = await state.claimOutboxRows(manager, 10);
        // a second relay skips the rows this one holds
        const other = await ds.transaction((second) => state.claimOutboxRows(second, 10));
        assert.deepEqual(other, []);
        return claimed;
      });
      assert.deepEqual(
        rows.map((row) => [row.operation_id, row.kind, row.operation_status, row.attempts]),
        [[ready, 'dispatch', 'queued', 0]],
      );
      assert.ok(!rows.some((row) => row.operation_id === later));
    });

    it('holds back an exclusive operation while another on its target is active or older', async () => {
      const target = 'shared-host';
      const first = await state.create(testPlan({ target, exclusive: true }));
      const second = await state.create(testPlan({ target, exclusive: true }));
      const parallel = await state.create(testPlan({ target }));
      const claimable = async () =>
        (await inTransaction((manager) => state.claimOutboxRows(manager, 10))).map(
          (row) => row.operation_id,
        );
      assert.deepEqual(await claimable(), [first, parallel]);
      await ds.query(`UPDATE operations SET status = 'running' WHERE id = $1`, [first]);
      assert.deepEqual(await claimable(), [first, parallel], 'first is past queued: its row goes');
      await ds.query(`UPDATE operations SET status = 'succeeded' WHERE id = $1`, [first]);
      assert.deepEqual(await claimable(), [first, second, parallel]);
    });

    it('marks rows published and moves only queued operations to dispatched', async () => {
      const queued = await state.create(testPlan());
      const cancelled = await inStatus('cancelled');
      const [queuedRow] = await outboxRows(queued);
      const [cancelledRow] = await outboxRows(cancelled);
      await inTransaction((manager) =>
        state.markPublished(manager, [queuedRow.id, cancelledRow.id], [queued, cancelled]),
      );
      const moved = await operation(queued);
      assert.equal(moved.status, 'dispatched');
      assert.ok(moved.dispatched_at);
      const kept = await operation(cancelled);
      assert.deepEqual([kept.status, kept.dispatched_at], ['cancelled', null]);
      for (const id of [queued, cancelled]) {
        const [row] = await outboxRows(id);
        assert.ok(row.published_at);
        assert.deepEqual([row.attempts, row.last_error], [1, null]);
      }
      // a late second publish of the same dispatch changes nothing
      await inTransaction((manager) => state.markPublished(manager, [queuedRow.id], [queued]));
      assert.deepEqual(
        (await operation(queued)).dispatched_at?.getTime(),
        moved.dispatched_at?.getTime(),
      );
    });

    it('defers a row the broker did not take, backing off 1, 2, 4, 8, then every 10 s', async () => {
      assert.deepEqual([1, 2, 3, 4, 5, 9].map(retryDelaySeconds), [1, 2, 4, 8, 10, 10]);
      const id = await state.create(testPlan());
      for (const [attempts, delay] of [
        [1, 1],
        [2, 2],
        [3, 4],
      ]) {
        const [row] = await outboxRows(id);
        await inTransaction((manager) => state.deferOutboxRow(manager, row, 'no route'));
        const [deferred] = await outboxRows(id);
        assert.deepEqual([deferred.attempts, deferred.last_error], [attempts, 'no route']);
        assert.ok(Math.abs(deferred.delay - delay) < 1, `delay ${deferred.delay}`);
        assert.equal(deferred.published_at, null);
      }
      assert.equal((await operation(id)).status, 'queued');
    });
  });

  describe('claim', () => {
    /** A claim by a dispatcher of the operations' own pool, answered. */
    const decide = async (message: ClaimMessage): Promise<ClaimResultMessage> => {
      const decision = await state.decideClaim(message, 'default');
      assert.equal(decision.kind, 'claim-result');
      return decision;
    };

    for (const from of ['queued', 'dispatched'] as const) {
      it(`grants a ${from} operation and moves it to running on the claimant`, async () => {
        const id = await inStatus(from);
        const result = await decide(claim(id, 'dispatcher-7'));
        assert.deepEqual(result, { v: 1, kind: 'claim-result', operationId: id, granted: true });
        const row = await operation(id);
        assert.deepEqual([row.status, row.dispatcher_id], ['running', 'dispatcher-7']);
        assert.ok(row.started_at && row.heartbeat_at);
      });
    }

    it('reports the start once, with the time since the operation was created', async () => {
      const id = await inStatus('dispatched');
      await ds.query(
        `UPDATE operations SET created_at = now() - interval '3 seconds' WHERE id = $1`,
        [id],
      );
      const started: StartedOperation[] = [];
      const report = (start: StartedOperation) => started.push(start);
      await state.decideClaim(claim(id, 'dispatcher-7'), 'default', undefined, report);
      // the same dispatcher asking again (its answer was lost) started nothing new
      await state.decideClaim(claim(id, 'dispatcher-7'), 'default', undefined, report);
      assert.equal(started.length, 1);
      assert.equal(started[0].type, 'demo.hello');
      assert.ok(Math.abs(started[0].waitedSeconds - 3) < 1, `${started[0].waitedSeconds} s`);
    });

    it('grants the same dispatcher again, and refuses another with the reason', async () => {
      const id = await inStatus('dispatched');
      assert.equal((await decide(claim(id, 'dispatcher-7'))).granted, true);
      const started = (await operation(id)).started_at;
      assert.equal((await decide(claim(id, 'dispatcher-7'))).granted, true);
      assert.deepEqual((await operation(id)).started_at, started, 'the first start counts');
      assert.deepEqual(await decide(claim(id, 'dispatcher-8')), {
        v: 1,
        kind: 'claim-result',
        operationId: id,
        granted: false,
        reason: 'operation is running on dispatcher dispatcher-7',
      });
      assert.equal((await operation(id)).dispatcher_id, 'dispatcher-7');
    });

    it('refuses an operation a cancel got to first, and an unknown one', async () => {
      const id = await inStatus('dispatched');
      assert.equal(await state.cancel(id, 'changed my mind'), 'cancelled');
      const refused = await decide(claim(id, 'dispatcher-7'));
      assert.deepEqual([refused.granted, refused.reason], [false, 'operation is cancelled']);
      const row = await operation(id);
      assert.deepEqual([row.status, row.dispatcher_id, row.started_at], ['cancelled', null, null]);
      const unknown = await decide(claim(randomUUID(), 'dispatcher-7'));
      assert.deepEqual([unknown.granted, unknown.reason], [false, 'unknown operation']);
    });

    it('answers no claimant of another pool, and leaves the operation as it was', async () => {
      const id = await inStatus('dispatched');
      assert.deepEqual(await state.decideClaim(claim(id, 'dispatcher-7'), 'gpu'), {
        kind: 'another-pool',
        pool: 'default',
      });
      const row = await operation(id);
      assert.deepEqual([row.status, row.dispatcher_id, row.started_at], ['dispatched', null, null]);
    });

    it('lets exactly one of two racing dispatchers win', async () => {
      const id = await inStatus('dispatched');
      const results = await Promise.all([
        decide(claim(id, 'dispatcher-a')),
        decide(claim(id, 'dispatcher-b')),
      ]);
      assert.equal(results.filter((result) => result.granted).length, 1);
    });
  });

  describe('apply a status', () => {
    const apply = (...events: StatusMessage[]) =>
      inTransaction(async (manager) => {
        for (const event of events) await state.applyStatus(manager, event);
      });

    it('returns the type and status of the operation it ended, once', async () => {
      const id = await state.create(testPlan());
      const ended = () =>
        inTransaction((manager) =>
          state.applyStatus(manager, statusMessage(id, 'failed', 20, { lineCount: 0 })),
        );
      await apply(statusMessage(id, 'running', 10));
      assert.deepEqual(await ended(), { type: 'demo.hello', status: 'failed' });
      assert.equal(await ended(), undefined, 'a replayed end ends nothing');
    });

    it('moves an operation forward only: a late running after succeeded changes nothing', async () => {
      const id = await state.create(testPlan());
      await apply(statusMessage(id, 'running', 10));
      assert.equal((await operation(id)).status, 'running');
      await ds.query(
        `INSERT INTO log_lines (operation_id, seq, stream, line, emitted_at)
         VALUES ($1, 1, 'stdout', 'one', now()), ($1, 2, 'stdout', 'two', now())`,
        [id],
      );
      await apply(statusMessage(id, 'succeeded', 20, { exitCode: 0, lineCount: 3 }));
      const done = await operation(id);
      assert.deepEqual(
        [done.status, done.exit_code, Number(done.line_count), Number(done.lines_stored)],
        ['succeeded', 0, 3, 2],
        'lines_stored counts what was stored when the end arrived',
      );
      assert.equal(done.started_at?.toISOString(), at(10));
      assert.equal(done.finished_at?.toISOString(), at(20));

      await apply(
        statusMessage(id, 'running', 30),
        statusMessage(id, 'failed', 31, { reason: 'late', exitCode: 9 }),
        statusMessage(id, 'dispatched', 32),
      );
      assert.deepEqual(await operation(id), done);
    });

    it('ends the tasks left unfinished when an operation ends, waking the outbox', async () => {
      const id = await state.create(testPlan());
      const [prepare, hello] = (await tasks(id)).map((task) => task.id);
      const heard = await notified(() =>
        apply(
          statusMessage(id, 'running', 1),
          statusMessage(id, 'succeeded', 2, { taskId: prepare, exitCode: 0 }),
          statusMessage(id, 'running', 3, { taskId: hello }),
          statusMessage(id, 'timed_out', 9, { reason: 'ran past its timeout' }),
        ),
      );
      assert.deepEqual(
        (await tasks(id)).map((task) => [task.status, task.reason, task.finished_at.toISOString()]),
        [
          ['succeeded', null, at(2)],
          ['cancelled', 'not run to the end: operation timed_out', at(9)],
        ],
      );
      assert.deepEqual(heard[OUTBOX_CHANNEL], ['']);
      assert.deepEqual(heard[LOG_CHANNEL], [id]);
    });

    it('ends them lost when the dispatcher reports the operation lost', async () => {
      const id = await state.create(testPlan());
      await apply(statusMessage(id, 'lost', 5, { reason: 'abandoned' }));
      assert.deepEqual(
        (await tasks(id)).map((task) => task.status),
        ['lost', 'lost'],
      );
    });

    it('moves tasks forward the same way, and only tasks of the operation named', async () => {
      const id = await state.create(testPlan());
      const other = await state.create(testPlan());
      const [prepare, hello] = (await tasks(id)).map((task) => task.id);
      await apply(
        statusMessage(id, 'running', 10, { taskId: prepare }),
        statusMessage(id, 'succeeded', 11, { taskId: prepare, exitCode: 0 }),
        statusMessage(id, 'running', 12, { taskId: hello }),
        statusMessage(id, 'failed', 13, { taskId: hello, exitCode: 1, reason: 'exited with 1' }),
      );
      await apply(
        statusMessage(id, 'running', 20, { taskId: prepare }),
        statusMessage(id, 'succeeded', 21, { taskId: hello, exitCode: 0 }),
        statusMessage(other, 'running', 22, { taskId: prepare }),
      );
      const rows = await ds.query(
        `SELECT status, reason, exit_code, started_at, finished_at FROM tasks
          WHERE operation_id = $1 ORDER BY position`,
        [id],
      );
      assert.deepEqual(rows, [
        {
          status: 'succeeded',
          reason: null,
          exit_code: 0,
          started_at: new Date(at(10)),
          finished_at: new Date(at(11)),
        },
        {
          status: 'failed',
          reason: 'exited with 1',
          exit_code: 1,
          started_at: new Date(at(12)),
          finished_at: new Date(at(13)),
        },
      ]);
      assert.deepEqual(
        (await tasks(other)).map((task) => task.status),
        ['queued', 'queued'],
      );
    });
  });

  it('records heartbeats of dispatched and running operations only, never going back', async () => {
    const [queued, dispatched, running, ended] = [
      await inStatus('queued'),
      await inStatus('dispatched'),
      await inStatus('running'),
      await inStatus('succeeded'),
    ];
    const beat = (second: number): HeartbeatMessage => ({
      v: 1,
      kind: 'heartbeat',
      dispatcherId: 'dispatcher-1', // the running one's holder
      pool: 'default',
      operations: [queued, dispatched, running, ended, randomUUID()],
      at: at(second),
    });
    await inTransaction((manager) => state.recordHeartbeats(manager, [beat(50), beat(40)]));
    const beats = await Promise.all(
      [queued, dispatched, running, ended].map(async (id) => {
        const row = await operation(id);
        return [row.heartbeat_at?.toISOString() ?? null, row.dispatcher_id];
      }),
    );
    assert.deepEqual(beats, [
      [null, null],
      [at(50), 'dispatcher-1'],
      [at(50), 'dispatcher-1'],
      [null, null],
    ]);
    await inTransaction((manager) => state.recordHeartbeats(manager, [beat(60)]));
    assert.equal((await operation(running)).heartbeat_at?.toISOString(), at(60));
  });

  it('never lets a heartbeat of another pool or dispatcher touch a running operation', async () => {
    const running = await inStatus('running');
    await ds.query(`UPDATE operations SET dispatcher_id = 'holder' WHERE id = $1`, [running]);
    const beat = (dispatcherId: string, pool: string): HeartbeatMessage => ({
      v: 1,
      kind: 'heartbeat',
      dispatcherId,
      pool,
      operations: [running],
      at: at(70),
    });
    await inTransaction((manager) =>
      state.recordHeartbeats(manager, [beat('intruder', 'default'), beat('holder', 'other')]),
    );
    const row = await operation(running);
    assert.deepEqual([row.heartbeat_at, row.dispatcher_id], [null, 'holder']);
    await inTransaction((manager) => state.recordHeartbeats(manager, [beat('holder', 'default')]));
    assert.equal((await operation(running)).heartbeat_at?.toISOString(), at(70));
  });

  it("applies a batch's beats in one statement: the holder's counts beside an intruder's", async () => {
    const running = await inStatus('running');
    const dispatched = await inStatus('dispatched');
    const beat = (dispatcherId: string, second: number): HeartbeatMessage => ({
      v: 1,
      kind: 'heartbeat',
      dispatcherId,
      pool: 'default',
      operations: [running, dispatched],
      at: at(second),
    });
    await inTransaction((manager) =>
      state.recordHeartbeats(manager, [
        beat('intruder', 90),
        beat('dispatcher-1', 80),
        beat('dispatcher-1', 85),
      ]),
    );
    const row = await operation(running);
    assert.deepEqual(
      [row.heartbeat_at?.toISOString(), row.dispatcher_id],
      [at(85), 'dispatcher-1'],
      "the holder's latest beat, never the intruder's",
    );
    const other = await operation(dispatched);
    assert.ok(other.heartbeat_at !== null, 'a dispatched operation named in the batch is beaten');
  });

  describe('lost', () => {
    it('marks running operations silent past the horizon lost, with their tasks', async () => {
      await ds.query(`DELETE FROM operations`); // earlier tests' beats are of the made-up past
      const silent = await inStatus('running');
      const alive = await inStatus('running');
      const dispatched = await inStatus('dispatched');
      await ds.query(
        `UPDATE operations SET heartbeat_at = now() - interval '60 seconds' WHERE id = ANY($1)`,
        [[silent, dispatched]],
      );
      await ds.query(`UPDATE operations SET heartbeat_at = now() WHERE id = $1`, [alive]);
      await ds.query(
        `UPDATE tasks SET status = CASE position WHEN 0 THEN 'succeeded' ELSE 'running' END
          WHERE operation_id = $1`,
        [silent],
      );

      // the relay has not seen events past 50 s ago: nothing can be judged silent yet
      assert.deepEqual(await state.markLost(new Date(Date.now() - 50_000), 30), []);

      let lost: Awaited<ReturnType<OperationStateRepository['markLost']>> = [];
      const heard = await notified(async () => {
        lost = await state.markLost(new Date(), 30);
      });
      assert.deepEqual(lost, [
        {
          id: silent,
          reason: 'dispatcher dispatcher-1 silent for more than 30 s',
          type: 'demo.hello',
        },
      ]);
      const row = await operation(silent);
      assert.deepEqual([row.status, row.reason], ['lost', lost[0].reason]);
      assert.ok(row.finished_at);
      assert.deepEqual(
        (await tasks(silent)).map((task) => [task.status, task.reason]),
        [
          ['succeeded', null],
          ['lost', 'operation lost'],
        ],
      );
      assert.equal((await operation(alive)).status, 'running');
      assert.equal((await operation(dispatched)).status, 'dispatched');
      assert.deepEqual(heard[LOG_CHANNEL], [silent]);
      assert.deepEqual(heard[OUTBOX_CHANNEL], ['']);
    });

    it('lists lost operations due for a retry until they are retried', async () => {
      const retries = await inStatus('lost', { retry: { attempts: 2, backoffSeconds: 15 } });
      const never = await inStatus('lost');
      const due = await state.lostDueForRetry();
      assert.ok(due.some((row) => row.id === retries && row.backoffSeconds === 15));
      assert.ok(!due.some((row) => row.id === never));

      const attempt = await state.retry(retries, { delaySeconds: 15 });
      assert.equal(attempt?.attempt, 2);
      assert.ok(!(await state.lostDueForRetry()).some((row) => row.id === retries));
      const [row] = await outboxRows(attempt.id);
      assert.ok(Math.abs(row.delay - 15) < 1, `delay ${row.delay}`);
    });
  });

  describe('cancel', () => {
    it('ends a queued operation at once, with its tasks, sending no cancel', async () => {
      const id = await inStatus('queued');
      let outcome: string | undefined;
      const heard = await notified(async () => {
        outcome = await state.cancel(id, 'not today');
      });
      assert.equal(outcome, 'cancelled');
      const row = await operation(id);
      assert.deepEqual([row.status, row.reason], ['cancelled', 'not today']);
      assert.deepEqual(
        (await tasks(id)).map((task) => [task.status, task.reason]),
        [
          ['cancelled', 'not run: not today'],
          ['cancelled', 'not run: not today'],
        ],
      );
      assert.deepEqual(
        (await outboxRows(id)).map((outbox) => outbox.kind),
        ['dispatch'],
      );
      assert.deepEqual(heard[LOG_CHANNEL], [id]);
      assert.deepEqual(heard[OUTBOX_CHANNEL], ['']);
    });

    it('asks the dispatcher of a running operation to stop it, once', async () => {
      const id = await inStatus('running');
      assert.equal(await state.cancel(id, 'stop'), 'requested');
      assert.equal(await state.cancel(id, 'stop again'), 'requested');
      const row = await operation(id);
      assert.deepEqual([row.status, row.reason], ['running', null]);
      assert.deepEqual(
        (await outboxRows(id)).map((outbox) => outbox.kind),
        ['dispatch', 'cancel'],
      );
      assert.deepEqual(
        (await tasks(id)).map((task) => task.status),
        ['queued', 'queued'],
        'the dispatcher reports how its tasks end',
      );
    });

    it('refuses an operation that has ended, and knows no unknown one', async () => {
      const id = await inStatus('failed');
      await assert.rejects(state.cancel(id, 'too late'), ConflictError);
      assert.equal(await state.cancel(randomUUID(), 'nobody'), 'not-found');
      assert.equal(await state.cancel('not-a-uuid', 'nobody'), 'not-found');
    });
  });

  describe('retry', () => {
    it('creates the next attempt of an operation that ended without succeeding', async () => {
      const id = await inStatus('failed');
      const attempt = await state.retry(id);
      assert.ok(attempt);
      assert.equal(attempt.attempt, 2);
      const [row]: { status: string; retry_of: string; attempt: number }[] = await ds.query(
        `SELECT status, retry_of, attempt FROM operations WHERE id = $1`,
        [attempt.id],
      );
      assert.deepEqual(row, { status: 'queued', retry_of: id, attempt: 2 });
      await assert.rejects(state.retry(id), ConflictError);
    });

    it('refuses an operation still active or succeeded', async () => {
      for (const value of ['queued', 'running', 'succeeded'] as const) {
        await assert.rejects(state.retry(await inStatus(value)), ConflictError);
      }
      assert.equal(await state.retry(randomUUID()), null);
    });
  });

  it('ends unfinished tasks of the operations named, waking the outbox on commit', async () => {
    const [one, two] = [await inStatus('running'), await inStatus('running')];
    const untouched = await inStatus('running');
    await ds.query(
      `UPDATE tasks SET status = 'succeeded' WHERE operation_id = $1 AND position = 0`,
      [one],
    );
    const heard = await notified(() =>
      inTransaction(async (manager) => {
        await state.endUnfinishedTasks(manager, [one, two], {
          status: 'lost',
          reason: 'gone',
          at: at(7),
        });
      }),
    );
    assert.deepEqual(
      (await tasks(one)).map((task) => [task.status, task.reason]),
      [
        ['succeeded', null],
        ['lost', 'gone'],
      ],
    );
    assert.deepEqual(
      (await tasks(two)).map((task) => [task.status, task.finished_at.toISOString()]),
      [
        ['lost', at(7)],
        ['lost', at(7)],
      ],
    );
    assert.deepEqual(
      (await tasks(untouched)).map((task) => task.status),
      ['queued', 'queued'],
    );
    assert.deepEqual(heard[OUTBOX_CHANNEL], ['']);
    assert.deepEqual(heard[LOG_CHANNEL].sort(), [one, two].sort());
  });
});
