import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type {
  EventMessage,
  HeartbeatMessage,
  LogLine,
  LogMessage,
  OperationStatus,
} from '@app/contracts';
import { singleEvents } from '@app/contracts';
import {
  LOG_CHANNEL,
  OperationStateRepository,
  OperationStore,
  type OperationView,
} from '@app/database';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { openTestDataSource, type TestDatabase } from '../../../test/support/database';
import { at, statusMessage, testPlan } from '../../../test/support/messages';
import { isDataError } from './database-retry';
import { storeEvents, writeEvents } from './event-writer';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

function log(operationId: string, lines: Partial<LogLine>[]): LogMessage {
  return {
    v: 1,
    kind: 'log',
    operationId,
    lines: lines.map((line, index) => ({
      seq: index + 1,
      taskId: null,
      stream: 'stdout',
      text: `line ${index + 1}`,
      at: at(index),
      ...line,
    })),
  };
}

function heartbeat(operations: string[], second: number): HeartbeatMessage {
  return {
    v: 1,
    kind: 'heartbeat',
    dispatcherId: 'dispatcher-1', // the dispatcher of the status events: the claim's holder
    pool: 'default',
    operations,
    at: at(second),
  };
}

interface OperationRow {
  status: OperationStatus;
  reason: string | null;
  exit_code: number | null;
  dispatcher_id: string | null;
  line_count: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  heartbeat_at: Date | null;
}

interface TaskRow {
  status: OperationStatus;
  reason: string | null;
  exit_code: number | null;
  started_at: Date | null;
  finished_at: Date | null;
}

describe('writeEvents', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: OperationStore;
  let close: (() => Promise<void>) | undefined;

  before(async () => {
    ({ db, ds, close } = await openTestDataSource('aegir_test_writer'));
    store = new OperationStore(ds, new OperationStateRepository(ds));
  });

  after(async () => {
    await close?.();
  });

  // the relay's own path: COPY, or the idempotent insert when some lines are stored already
  const write = (...events: EventMessage[]) => storeEvents(ds, singleEvents(events));

  const storedLines = async (id: string) =>
    ds.query<{ seq: string; task_id: string | null; stream: string; line: string }[]>(
      `SELECT seq, task_id, stream, line FROM log_lines WHERE operation_id = $1 ORDER BY seq`,
      [id],
    );

  const operation = async (id: string): Promise<OperationRow> => {
    const [row]: OperationRow[] = await ds.query(
      `SELECT status, reason, exit_code, dispatcher_id, line_count, started_at, finished_at,
              heartbeat_at
         FROM operations WHERE id = $1`,
      [id],
    );
    return row;
  };

  const task = async (id: string): Promise<TaskRow> => {
    const [row]: TaskRow[] = await ds.query(
      `SELECT status, reason, exit_code, started_at, finished_at FROM tasks WHERE id = $1`,
      [id],
    );
    return row;
  };

  const taskIds = (view: OperationView): string[] => view.tasks!.map((t) => t.id);

  it('stores each log line once, however often it arrives', async () => {
    const op = await store.create(testPlan());
    const [prepare] = taskIds(op);
    const message = log(op.id, [
      { taskId: prepare, text: 'first' },
      { taskId: prepare, stream: 'stderr', text: 'second' },
      { stream: 'system', text: 'third' },
    ]);

    await write(message, message); // twice in one batch
    const replayed = log(op.id, [{}, { text: 'changed on the way' }, {}]);
    await write(replayed); // and again later, as a redelivery would

    const rows = await storedLines(op.id);
    assert.deepEqual(
      rows.map((row) => [Number(row.seq), row.task_id, row.stream, row.line]),
      [
        [1, prepare, 'stdout', 'first'],
        [2, prepare, 'stderr', 'second'],
        [3, null, 'system', 'third'],
      ],
    );
    const [{ emitted_at }]: { emitted_at: Date }[] = await ds.query(
      `SELECT emitted_at FROM log_lines WHERE operation_id = $1 AND seq = 2`,
      [op.id],
    );
    assert.equal(emitted_at.toISOString(), at(1));
  });

  it('stores text exactly: tabs, newlines, backslashes, COPY markers, any script', async () => {
    const op = await store.create(testPlan());
    const texts = ['a\tb', 'c\nd\r', 'back\\slash \\N \\.', '\\.', 'ünïcödé ✓ 日本', ''];
    await write(
      log(
        op.id,
        texts.map((text) => ({ text })),
      ),
    );
    assert.deepEqual(
      (await storedLines(op.id)).map((row) => row.line),
      texts,
    );
  });

  it('stores the compact lines form row for row like the log form', async () => {
    const [compact, classic] = [await store.create(testPlan()), await store.create(testPlan())];
    const taskId = taskIds(compact)[0];
    const base = Date.UTC(2026, 0, 1, 0, 0, 0, 5);
    const texts = ['first', 'a piece', 'of a long line', 'err', 'sys'];
    const ms = [0, 0, 1, 1000, 86_400_000];
    const streams = 'oooes';
    await write({
      v: 1,
      kind: 'lines',
      operationId: compact.id,
      taskId,
      seq: 1,
      at: new Date(base).toISOString(),
      text: texts,
      ms,
      streams,
      continues: [1],
    });
    const names = { o: 'stdout', e: 'stderr', s: 'system' } as const;
    await write(
      log(
        classic.id,
        texts.map((text, i) => ({
          taskId,
          text,
          stream: names[streams[i] as keyof typeof names],
          at: new Date(base + ms[i]).toISOString(),
          ...(i === 1 ? { continues: true } : {}),
        })),
      ),
    );
    const rows = (id: string) =>
      ds.query(
        `SELECT seq, task_id, stream, line, emitted_at, continues FROM log_lines
          WHERE operation_id = $1 ORDER BY seq`,
        [id],
      );
    const stored = await rows(compact.id);
    assert.equal(stored.length, 5);
    assert.deepEqual(stored, await rows(classic.id));
    assert.equal(stored[4].emitted_at.toISOString(), '2026-01-02T00:00:00.005Z');
    // …and a redelivery of it changes nothing
    await write({
      v: 1,
      kind: 'lines',
      operationId: compact.id,
      taskId: null,
      seq: 4,
      at: new Date(base).toISOString(),
      text: ['other', 'texts'],
      ms: [0, 0],
      streams: 'oo',
    });
    assert.deepEqual(await rows(compact.id), stored);
  });

  it('applies a group of events in its order: lines, then the status that counts them', async () => {
    const op = await store.create(testPlan());
    await write({
      v: 1,
      kind: 'events',
      operationId: op.id,
      events: [
        statusMessage(op.id, 'running', 1),
        {
          v: 1,
          kind: 'lines',
          operationId: op.id,
          taskId: null,
          seq: 1,
          at: at(2),
          text: ['one', 'two'],
          ms: [0, 1],
          streams: 'oe',
        },
        statusMessage(op.id, 'succeeded', 3, { exitCode: 0, lineCount: 2 }),
      ],
    });
    assert.deepEqual(
      (await storedLines(op.id)).map((row) => [row.stream, row.line]),
      [
        ['stdout', 'one'],
        ['stderr', 'two'],
      ],
    );
    const [row]: { status: string; lines_stored: string }[] = await ds.query(
      `SELECT status, lines_stored FROM operations WHERE id = $1`,
      [op.id],
    );
    assert.deepEqual([row.status, Number(row.lines_stored)], ['succeeded', 2]);
  });

  it('refuses lines of an unknown operation as data, writing nothing of the batch', async () => {
    const known = await store.create(testPlan());
    const unknown = randomUUID();
    await assert.rejects(
      write(log(known.id, [{ text: 'kept back' }]), log(unknown, [{ text: 'orphan' }])),
      (error: Error) => isDataError(error) && error.message.includes(unknown),
    );
    assert.deepEqual(await storedLines(known.id), []);
    assert.deepEqual(await storedLines(unknown), []);
  });

  it('deletes the lines of an operation deleted', async () => {
    const [gone, kept] = [await store.create(testPlan()), await store.create(testPlan())];
    await write(log(gone.id, [{}, {}]), log(kept.id, [{}]));
    await ds.query(`DELETE FROM operations WHERE id = $1`, [gone.id]);
    assert.equal((await storedLines(gone.id)).length, 0);
    assert.equal((await storedLines(kept.id)).length, 1);
  });

  it('moves an operation queued → running → succeeded, and never back', async () => {
    const op = await store.create(testPlan());

    await write(statusMessage(op.id, 'running', 10));
    let row = await operation(op.id);
    assert.equal(row.status, 'running');
    assert.equal(iso(row.started_at), at(10));
    assert.equal(row.finished_at, null);
    assert.equal(row.dispatcher_id, 'dispatcher-1');

    await write(statusMessage(op.id, 'succeeded', 20, { exitCode: 0, lineCount: 42 }));
    row = await operation(op.id);
    assert.equal(row.status, 'succeeded');
    assert.equal(iso(row.started_at), at(10));
    assert.equal(iso(row.finished_at), at(20));
    assert.equal(row.exit_code, 0);
    assert.equal(Number(row.line_count), 42);

    // late and replayed events: a terminal status never changes
    await write(
      statusMessage(op.id, 'running', 30),
      statusMessage(op.id, 'failed', 31, { reason: 'too late', exitCode: 9, lineCount: 1 }),
      statusMessage(op.id, 'dispatched', 32),
    );
    assert.deepEqual(await operation(op.id), row);
  });

  it('never takes a running operation back to dispatched', async () => {
    const op = await store.create(testPlan());
    await write(statusMessage(op.id, 'running', 10));
    await write(statusMessage(op.id, 'dispatched', 11), statusMessage(op.id, 'running', 12));
    const row = await operation(op.id);
    assert.equal(row.status, 'running');
    assert.equal(iso(row.started_at), at(10), 'the first start counts');
  });

  it('records the reason and exit code of a failure', async () => {
    const op = await store.create(testPlan());
    await write(
      statusMessage(op.id, 'failed', 5, {
        reason: 'task hello exited with 2',
        exitCode: 2,
        lineCount: 0,
      }),
    );
    const row = await operation(op.id);
    assert.equal(row.status, 'failed');
    assert.equal(row.reason, 'task hello exited with 2');
    assert.equal(row.exit_code, 2);
    assert.equal(Number(row.line_count), 0);
    assert.equal(iso(row.finished_at), at(5));
    assert.equal(row.started_at, null, 'it never ran');
  });

  // How each status and heartbeat moves a row is the OperationStateRepository's spec; here,
  // that a batch routes its task statuses and heartbeats there.
  it('writes the task statuses and heartbeats of a batch', async () => {
    const op = await store.create(testPlan());
    const [prepare] = taskIds(op);
    await write(
      statusMessage(op.id, 'running', 10),
      statusMessage(op.id, 'succeeded', 11, { taskId: prepare, exitCode: 0 }),
      heartbeat([op.id], 12),
    );
    const row = await operation(op.id);
    assert.deepEqual(
      [row.status, iso(row.heartbeat_at), row.dispatcher_id],
      ['running', at(12), 'dispatcher-1'],
    );
    const done = await task(prepare);
    assert.deepEqual(
      [done.status, done.exit_code, iso(done.finished_at)],
      ['succeeded', 0, at(11)],
    );
  });

  it('notifies followers on aegir_log when the transaction commits, not before', async () => {
    const op = await store.create(testPlan());
    const quiet = await store.create(testPlan());
    const listener = new Client({ connectionString: db.url, application_name: 'aegir-test' });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (n) => {
        if (n.channel === LOG_CHANNEL) heard.push(n.payload ?? '');
      });
      await listener.query(`LISTEN ${LOG_CHANNEL}`);

      await ds.transaction(async (manager) => {
        await writeEvents(manager, [
          log(op.id, [{ text: 'hello' }]),
          statusMessage(op.id, 'running', 1),
          heartbeat([quiet.id], 1),
        ]);
        await sleep(150);
        assert.deepEqual(heard, [], 'nothing is announced before the commit');
      });

      const started = Date.now();
      while (heard.length === 0 && Date.now() - started < 3_000) await sleep(20);
      await sleep(100);
      assert.deepEqual(heard, [op.id], 'one notification per operation touched');
    } finally {
      await listener.end();
    }
  });
});
