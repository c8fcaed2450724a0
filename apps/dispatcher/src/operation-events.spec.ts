import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventMessage, LogLine, LogMessage, LogStream, StatusMessage } from '@app/contracts';
import { OperationEvents, type OperationEventsOptions } from './operation-events';

/**
 * Stands in for the broker. Records every event it confirmed, in confirm order. Can refuse
 * chosen calls (by their 1-based number) and, while `stalling`, holds each send open until
 * `confirmNext()`.
 */
class FakeBroker {
  readonly confirmed: EventMessage[] = [];
  readonly held: { event: EventMessage; confirm: () => void }[] = [];
  calls = 0;
  stalling = false;

  constructor(private readonly refuse = new Set<number>()) {}

  readonly send = (event: EventMessage): Promise<void> => {
    this.calls += 1;
    if (this.refuse.has(this.calls)) return Promise.reject(new Error(`refused call ${this.calls}`));
    if (!this.stalling) {
      this.confirmed.push(event);
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.held.push({
        event,
        confirm: () => {
          this.confirmed.push(event);
          resolve();
        },
      }),
    );
  };

  async confirmNext(): Promise<EventMessage> {
    await until(() => this.held.length > 0);
    const next = this.held.shift()!;
    next.confirm();
    return next.event;
  }

  get logs(): LogMessage[] {
    return this.confirmed.filter((e): e is LogMessage => e.kind === 'log');
  }

  get lines(): LogLine[] {
    return this.logs.flatMap((e) => e.lines);
  }

  get statuses(): StatusMessage[] {
    return this.confirmed.filter((e): e is StatusMessage => e.kind === 'status');
  }
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(2);
  }
}

/** Whether a promise settled by now (after letting pending callbacks run). */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(10);
  return settled;
}

function events(
  broker: FakeBroker,
  options: Partial<OperationEventsOptions> = {},
): OperationEvents {
  return new OperationEvents('op-1', 'disp-1', broker.send, {
    batchLines: 500,
    batchMs: 5,
    maxBufferedLines: 10_000,
    onRetry: () => undefined,
    ...options,
  });
}

/** Emits a line well below maxBufferedLines, where the caller is never asked to wait. */
function emit(
  stream: OperationEvents,
  taskId: string | null,
  text: string,
  kind: LogStream = 'stdout',
): void {
  assert.equal(stream.line(taskId, kind, text), undefined);
}

const seqs = (lines: LogLine[]): number[] => lines.map((line) => line.seq);
const oneTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('OperationEvents', () => {
  it('numbers lines 1..n without gaps across tasks and counts them', async () => {
    const broker = new FakeBroker();
    const stream = events(broker, { batchLines: 4 });
    const emitted: [string | null, string][] = [];
    const emit = (taskId: string | null, text: string) => {
      emitted.push([taskId, text]);
      assert.equal(stream.line(taskId, 'stdout', text), undefined);
    };
    emit(null, 'starting');
    for (let i = 0; i < 5; i++) emit('task-a', `a${i}`);
    await stream.status({ taskId: 'task-a', status: 'succeeded' });
    for (let i = 0; i < 7; i++) emit('task-b', `b${i}`);
    assert.equal(stream.lineCount, 13);
    await stream.flush();

    const lines = broker.lines;
    assert.deepEqual(seqs(lines), oneTo(13));
    assert.deepEqual(
      lines.map((line) => [line.taskId, line.text]),
      emitted,
    );
    assert.ok(
      lines.every((line) => line.stream === 'stdout' && !Number.isNaN(Date.parse(line.at))),
    );
    assert.ok(broker.logs.every((log) => log.operationId === 'op-1' && log.v === 1));
    assert.equal(stream.lineCount, 13);
  });

  it('sends full batches at once, at most batchLines each', async () => {
    const broker = new FakeBroker();
    const stream = events(broker, { batchLines: 64, batchMs: 60_000 });
    for (let i = 1; i <= 1000; i++) emit(stream, 't', `line ${i}`);
    // 15 full batches go out without waiting for the (one minute) timer.
    await until(() => broker.logs.length === 15);
    assert.ok(broker.logs.every((log) => log.lines.length === 64));
    await stream.flush();
    assert.deepEqual(
      broker.logs.map((log) => log.lines.length),
      [...Array<number>(15).fill(64), 1000 - 15 * 64],
    );
    assert.deepEqual(seqs(broker.lines), oneTo(1000));
  });

  it('sends a partial batch once batchMs passed', async () => {
    const broker = new FakeBroker();
    const stream = events(broker, { batchLines: 3, batchMs: 150 });
    for (let i = 1; i <= 7; i++) emit(stream, 't', `line ${i}`, 'stderr');
    await sleep(50);
    assert.deepEqual(
      broker.logs.map((log) => seqs(log.lines)),
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    );
    await until(() => broker.logs.length === 3);
    assert.deepEqual(seqs(broker.logs[2].lines), [7]);
    assert.equal(broker.logs[2].lines[0].stream, 'stderr');
  });

  it('sends a status only after every line emitted before it', async () => {
    const broker = new FakeBroker();
    // The batch timer would hold the lines for a minute: the status itself must send them.
    const stream = events(broker, { batchLines: 4, batchMs: 60_000 });
    const statusAfter = new Map<string, number>();
    const status = (taskId: string | null, status: 'running' | 'succeeded') => {
      statusAfter.set(`${taskId}:${status}`, stream.lineCount);
      return stream.status({ taskId, status });
    };
    void status(null, 'running');
    void status('a', 'running');
    for (let i = 0; i < 6; i++) emit(stream, 'a', `a${i}`);
    void status('a', 'succeeded');
    void status('b', 'running');
    emit(stream, 'b', 'b0');
    await status('b', 'succeeded');
    emit(stream, null, 'after the last status', 'system');
    await stream.flush();

    assert.equal(broker.statuses.length, 5);
    broker.confirmed.forEach((event, index) => {
      if (event.kind !== 'status') return;
      const emittedBefore = statusAfter.get(`${event.taskId}:${event.status}`)!;
      const sentBefore = broker.confirmed
        .slice(0, index)
        .flatMap((e) => (e.kind === 'log' ? e.lines : []));
      assert.deepEqual(
        seqs(sentBefore),
        oneTo(emittedBefore),
        `before ${event.taskId} ${event.status}`,
      );
      assert.equal(event.operationId, 'op-1');
      assert.equal(event.dispatcherId, 'disp-1');
    });
    assert.deepEqual(seqs(broker.lines), oneTo(8));
  });

  it('retries a refused send until it is confirmed: nothing lost, nothing twice, order kept', async () => {
    // Call 1 (the first batch) is refused twice, call 4 once: 250 + 500 + 250 ms of backoff.
    const broker = new FakeBroker(new Set([1, 2, 4]));
    const retries: number[] = [];
    const stream = events(broker, {
      batchLines: 2,
      onRetry: (error, attempt) => {
        assert.match(String(error), /refused call/);
        retries.push(attempt);
      },
    });
    for (let i = 1; i <= 4; i++) emit(stream, 't', `line ${i}`);
    const running = stream.status({ taskId: 't', status: 'running' });
    for (let i = 5; i <= 7; i++) emit(stream, 't', `line ${i}`);
    const succeeded = stream.status({ taskId: 't', status: 'succeeded' });
    assert.equal(await isSettled(running), false, 'a status resolves only once confirmed');
    await succeeded;
    assert.equal(await isSettled(running), true);
    await stream.flush();

    assert.deepEqual(retries, [1, 2, 1]);
    assert.deepEqual(seqs(broker.lines), oneTo(7));
    assert.deepEqual(
      broker.confirmed.map((e) =>
        e.kind === 'log' ? seqs(e.lines).join(',') : e.kind === 'status' ? e.status : e.kind,
      ),
      ['1,2', '3,4', 'running', '5,6', '7', 'succeeded'],
    );
  });

  it('pauses the caller once maxBufferedLines are unconfirmed, until half are confirmed', async () => {
    const broker = new FakeBroker();
    broker.stalling = true;
    const stream = events(broker, { batchLines: 2, batchMs: 5, maxBufferedLines: 4 });
    assert.equal(stream.line('t', 'stdout', 'line 1'), undefined);
    assert.equal(stream.line('t', 'stdout', 'line 2'), undefined);
    assert.equal(stream.line('t', 'stdout', 'line 3'), undefined);
    const paused = stream.line('t', 'stdout', 'line 4');
    assert.ok(paused instanceof Promise, 'the 4th unconfirmed line returns a promise');
    assert.equal(stream.line('t', 'stdout', 'line 5'), paused, 'later lines wait for the same');
    const flushed = stream.flush();

    assert.equal(await isSettled(paused), false);
    const first = (await broker.confirmNext()) as LogMessage;
    assert.deepEqual(seqs(first.lines), [1, 2]);
    assert.equal(await isSettled(paused), false, '3 of 5 lines still unconfirmed');
    const second = (await broker.confirmNext()) as LogMessage;
    assert.deepEqual(seqs(second.lines), [3, 4]);
    assert.equal(await isSettled(paused), true, '1 line unconfirmed: below half of 4');
    assert.equal(await isSettled(flushed), false, 'flush waits for the last line too');
    const third = (await broker.confirmNext()) as LogMessage;
    assert.deepEqual(seqs(third.lines), [5]);
    assert.equal(await isSettled(flushed), true);
    assert.equal(stream.lineCount, 5);
    assert.equal(broker.held.length, 0);
  });

  it('flush() resolves at once when nothing is pending', async () => {
    const broker = new FakeBroker();
    const stream = events(broker);
    assert.equal(await isSettled(stream.flush()), true);
    assert.equal(broker.calls, 0);
    assert.equal(stream.lineCount, 0);
  });
});
