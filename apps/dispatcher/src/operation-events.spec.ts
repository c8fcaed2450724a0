import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  logLinesOf,
  singleEvents,
  type EventMessage,
  type LinesMessage,
  type LogLine,
  type LogStream,
  type StatusMessage,
} from '@app/contracts';
import {
  DEFAULT_BATCH_BYTES,
  DEFAULT_MAX_BUFFERED_BYTES,
  OperationEvents,
  spillDirFor,
  type BufferedOutput,
  type OperationEventsOptions,
} from './operation-events';

/**
 * Stands in for the broker. Records every event it confirmed, in confirm order. Can refuse
 * chosen calls (by their 1-based number) and, while `stalling`, holds each send open until
 * `confirmNext()`.
 */
class FakeBroker {
  /** Every event confirmed, groups opened. */
  readonly confirmed: EventMessage[] = [];
  /** The messages confirmed, as sent. */
  readonly messages: EventMessage[] = [];
  readonly held: { event: EventMessage; confirm: () => void }[] = [];
  calls = 0;
  stalling = false;

  constructor(private readonly refuse = new Set<number>()) {}

  readonly send = (event: EventMessage): Promise<void> => {
    this.calls += 1;
    if (this.refuse.has(this.calls)) return Promise.reject(new Error(`refused call ${this.calls}`));
    if (!this.stalling) {
      this.confirm(event);
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.held.push({
        event,
        confirm: () => {
          this.confirm(event);
          resolve();
        },
      }),
    );
  };

  private readonly confirm = (event: EventMessage): void => {
    this.messages.push(event);
    this.confirmed.push(...singleEvents([event]));
  };

  async confirmNext(): Promise<EventMessage> {
    await until(() => this.held.length > 0);
    const next = this.held.shift()!;
    next.confirm();
    return next.event;
  }

  /** The `lines` events confirmed, each as its lines. */
  get logs(): { message: LinesMessage; lines: LogLine[] }[] {
    return this.confirmed
      .filter((e): e is LinesMessage => e.kind === 'lines')
      .map((message) => ({ message, lines: logLinesOf(message) }));
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
    assert.ok(
      broker.logs.every(({ message }) => message.operationId === 'op-1' && message.v === 1),
    );
    // one task per message: the system line, task-a's and task-b's went out apart
    assert.deepEqual(
      broker.logs.map(({ message }) => [message.taskId, message.text.length]),
      [
        [null, 1],
        ['task-a', 4],
        ['task-a', 1],
        ['task-b', 4],
        ['task-b', 3],
      ],
    );
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
        .flatMap((e) => (e.kind === 'lines' ? logLinesOf(e) : []));
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
        e.kind === 'lines'
          ? seqs(logLinesOf(e)).join(',')
          : e.kind === 'status'
            ? e.status
            : e.kind,
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
    const first = logLinesOf((await broker.confirmNext()) as LinesMessage);
    assert.deepEqual(seqs(first), [1, 2]);
    assert.equal(await isSettled(paused), false, '3 of 5 lines still unconfirmed');
    // two batches of batchLines never share a message
    const second = logLinesOf((await broker.confirmNext()) as LinesMessage);
    assert.deepEqual(seqs(second), [3, 4]);
    assert.equal(await isSettled(paused), true, '1 line unconfirmed: below half of 4');
    assert.equal(await isSettled(flushed), false, 'flush waits for the last line too');
    const third = logLinesOf((await broker.confirmNext()) as LinesMessage);
    assert.deepEqual(seqs(third), [5]);
    assert.equal(await isSettled(flushed), true);
    assert.equal(stream.lineCount, 5);
    assert.equal(broker.held.length, 0);
  });

  it('sends what queued up during a send as one group, in order, at most batchLines of lines', async () => {
    const broker = new FakeBroker();
    broker.stalling = true;
    const stream = events(broker, { batchLines: 3, batchMs: 60_000 });
    void stream.status({ taskId: null, status: 'running' }); // held: the rest queues up
    void stream.status({ taskId: 't', status: 'running' });
    emit(stream, 't', 'one');
    emit(stream, 't', 'two');
    void stream.status({ taskId: 't', status: 'succeeded' });
    for (const text of ['three', 'four', 'five']) emit(stream, 'u', text);
    const done = stream.status({ taskId: null, status: 'succeeded', lineCount: 5 });

    const kinds = (event: EventMessage) =>
      singleEvents([event]).map((e) =>
        e.kind === 'lines' ? `lines ${e.text.length}` : e.kind === 'status' ? e.status : e.kind,
      );
    assert.deepEqual(kinds(await broker.confirmNext()), ['running']);
    // the task's running status, its 2 lines and its end: then a full batch would exceed 3 lines
    assert.deepEqual(kinds(await broker.confirmNext()), ['running', 'lines 2', 'succeeded']);
    assert.deepEqual(kinds(await broker.confirmNext()), ['lines 3', 'succeeded']);
    await done;
    assert.deepEqual(seqs(broker.lines), oneTo(5));
    assert.equal(broker.messages[1].kind, 'events');
  });

  it('flush() resolves at once when nothing is pending', async () => {
    const broker = new FakeBroker();
    const stream = events(broker);
    assert.equal(await isSettled(stream.flush()), true);
    assert.equal(broker.calls, 0);
    assert.equal(stream.lineCount, 0);
  });

  it('marks a continued piece with continues: true and leaves the field out otherwise', async () => {
    const broker = new FakeBroker();
    const stream = events(broker);
    emit(stream, 't', 'plain');
    assert.equal(stream.line('t', 'stdout', 'first piece', true), undefined);
    assert.equal(stream.line('t', 'stdout', 'last piece', false), undefined);
    await stream.flush();
    const [plain, first, last] = broker.lines;
    assert.equal(first.continues, true);
    assert.ok(!('continues' in plain), 'no continues field on a whole line');
    assert.ok(!('continues' in last), 'no continues field on the last piece');
    assert.deepEqual(
      broker.lines.map((line) => line.text),
      ['plain', 'first piece', 'last piece'],
    );
  });

  it('sends a batch once its text reaches batchBytes, counting UTF-8 bytes', async () => {
    const broker = new FakeBroker();
    const stream = events(broker, { batchLines: 1000, batchMs: 60_000, batchBytes: 1000 });
    const texts = [
      ...Array<string>(7).fill('a'.repeat(300)),
      'b'.repeat(2500), // alone: bigger than a batch
      ...Array<string>(3).fill('é'.repeat(200)), // 400 bytes each
    ];
    for (const text of texts) emit(stream, 't', text);
    await stream.flush();
    assert.deepEqual(
      broker.logs.map((log) => log.lines.map((line) => Buffer.byteLength(line.text))),
      [[300, 300, 300], [300, 300, 300], [300], [2500], [400, 400], [400]],
    );
    assert.deepEqual(seqs(broker.lines), oneTo(texts.length));
  });

  it('bounds memory in bytes: 200 lines of 1 MiB never hold more than maxBufferedBytes', async () => {
    const MiB = 1024 * 1024;
    // A broker that confirms slowly, and keeps only what the test checks, not the text.
    const batches: { seqs: number[]; bytes: number }[] = [];
    const slowSend = async (event: EventMessage): Promise<void> => {
      await sleep(2);
      if (event.kind !== 'lines') return;
      const lines = logLinesOf(event);
      batches.push({
        seqs: seqs(lines),
        bytes: lines.reduce((sum, line) => sum + Buffer.byteLength(line.text), 0),
      });
    };
    const stream = new OperationEvents('op-1', 'disp-1', slowSend, {
      batchLines: 500,
      batchMs: 25,
      maxBufferedLines: 20_000,
      onRetry: () => undefined,
    });
    let peak = 0;
    let paused = 0;
    for (let i = 1; i <= 200; i++) {
      const text = `${String(i).padStart(8, '0')} `.padEnd(MiB, 'x');
      const wait = stream.line('t', 'stdout', text);
      peak = Math.max(peak, stream.buffered.memoryBytes);
      if (wait) {
        paused++;
        await wait;
      }
    }
    await stream.flush();
    assert.ok(peak <= DEFAULT_MAX_BUFFERED_BYTES + MiB, `peak ${peak} bytes held`);
    assert.ok(paused > 0, 'the caller was paused');
    assert.deepEqual(
      batches.flatMap((batch) => batch.seqs),
      oneTo(200),
    );
    assert.ok(batches.every((batch) => batch.bytes <= MiB));
    assert.equal(stream.buffered.memoryBytes, 0);

    // Lines smaller than a batch are packed up to batchBytes (DEFAULT_BATCH_BYTES), never more.
    batches.length = 0;
    const packed = new OperationEvents('op-2', 'disp-1', slowSend, {
      batchLines: 500,
      batchMs: 25,
      maxBufferedLines: 20_000,
      onRetry: () => undefined,
    });
    for (let i = 1; i <= 100; i++) await packed.line('t', 'stdout', 'y'.repeat(100 * 1024));
    await packed.flush();
    const perBatch = Math.floor(DEFAULT_BATCH_BYTES / (100 * 1024));
    assert.deepEqual(
      batches.map((batch) => batch.bytes),
      [...Array<number>(100 / perBatch).fill(perBatch * 100 * 1024)],
    );
  });

  it('refuses an operation id that is not a plain name as a spill directory', () => {
    assert.equal(spillDirFor('/srv/aegir', 'abc-1'), '/srv/aegir/spill-abc-1');
    assert.throws(() => spillDirFor('/srv/aegir', '../etc'), /operationId must be a plain name/);
  });
});

describe('OperationEvents while the broker is away', () => {
  let base: string;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'aegir-spill-'));
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  // A failed test must not leave a stream retrying forever, which would keep the process alive.
  const brokers: AwayBroker[] = [];
  afterEach(() => {
    for (const broker of brokers.splice(0)) broker.back();
  });

  /** A broker that refuses every send until `back()`, then confirms at once. */
  class AwayBroker extends FakeBroker {
    away = true;
    refused = 0;

    readonly sendWhenUp = (event: EventMessage): Promise<void> => {
      if (this.away) {
        this.refused++;
        return Promise.reject(new Error('broker unreachable'));
      }
      return this.send(event);
    };

    back(): void {
      this.away = false;
    }
  }

  function spilling(
    broker: AwayBroker,
    dir: string,
    options: Partial<OperationEventsOptions> = {},
  ): OperationEvents {
    brokers.push(broker);
    return new OperationEvents('op-1', 'disp-1', broker.sendWhenUp, {
      batchLines: 500,
      batchMs: 5,
      maxBufferedLines: 5_000,
      spill: { dir, maxBytes: 1024 ** 3 },
      onRetry: () => undefined,
      onSpillError: (error) => assert.fail(`no spill error expected: ${String(error)}`),
      ...options,
    });
  }

  const lineText = (i: number) => `line ${i} ${'z'.repeat(40)}`;

  it('keeps 100 000 lines through a 3 s outage without pausing the task: spilled, then delivered once, in order', async () => {
    const broker = new AwayBroker();
    const dir = join(base, 'spill-op-1');
    const stream = spilling(broker, dir);
    const outageStart = Date.now();
    let peak: BufferedOutput = { memoryLines: 0, memoryBytes: 0, spillFiles: 0, spilledBytes: 0 };
    let paused = 0;
    // 100 ticks of 1000 lines, 20 ms apart: about 2 s of output, all of it during the outage.
    for (let tick = 0; tick < 100; tick++) {
      for (let i = tick * 1000 + 1; i <= (tick + 1) * 1000; i++) {
        if (stream.line('t', 'stdout', lineText(i)) !== undefined) paused++;
      }
      const now = stream.buffered;
      peak = {
        memoryLines: Math.max(peak.memoryLines, now.memoryLines),
        memoryBytes: Math.max(peak.memoryBytes, now.memoryBytes),
        spillFiles: Math.max(peak.spillFiles, now.spillFiles),
        spilledBytes: Math.max(peak.spilledBytes, now.spilledBytes),
      };
      await sleep(20);
    }
    const final = stream.status({ taskId: 't', status: 'succeeded' });
    assert.equal(paused, 0, 'the task was never paused');
    assert.ok(peak.memoryLines <= 5_000, `at most 5000 lines in memory, saw ${peak.memoryLines}`);
    assert.ok(peak.spillFiles > 150, `batches spilled to disk: ${peak.spillFiles}`);

    // The spill directory: private, one file per batch, name order = stream order.
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const names = readdirSync(dir);
    assert.equal(names.length, stream.buffered.spillFiles);
    const firstSeqs = [...names].sort().map((name) => {
      const file = join(dir, name);
      assert.equal(statSync(file).mode & 0o777, 0o600, name);
      return (JSON.parse(readFileSync(file, 'utf8')) as LinesMessage).seq;
    });
    assert.deepEqual(
      firstSeqs,
      [...firstSeqs].sort((a, b) => a - b),
    );
    assert.equal(broker.lines.length, 0, 'nothing confirmed during the outage');

    // The broker comes back after 3 s at least, once the checks of the outage are done.
    await sleep(Math.max(0, outageStart + 3000 - Date.now()));
    broker.back();
    await final;
    await stream.flush();
    assert.ok(broker.refused > 0);
    assert.deepEqual(seqs(broker.lines), oneTo(100_000), 'every line once, in order');
    assert.ok(broker.lines.every((line) => line.text === lineText(line.seq)));
    const last = broker.confirmed.at(-1)!;
    assert.ok(last.kind === 'status' && last.status === 'succeeded', 'the status came after them');
    assert.equal(existsSync(dir), false, 'the spill directory is gone');
    assert.deepEqual(stream.buffered, {
      memoryLines: 0,
      memoryBytes: 0,
      spillFiles: 0,
      spilledBytes: 0,
    });
  });

  it('pauses the task past the disk bound, and resumes once the broker is back', async () => {
    const broker = new AwayBroker();
    const dir = join(base, 'spill-bounded');
    const maxBytes = 64 * 1024;
    const stream = spilling(broker, dir, {
      batchLines: 100,
      maxBufferedLines: 1_000,
      spill: { dir, maxBytes },
    });
    let pausedAt = 0;
    let peakMemory = 0;
    let peakDisk = 0;
    for (let i = 1; i <= 20_000; i++) {
      const wait = stream.line('t', 'stdout', lineText(i));
      peakMemory = Math.max(peakMemory, stream.buffered.memoryLines);
      peakDisk = Math.max(peakDisk, stream.buffered.spilledBytes);
      if (wait && !pausedAt) {
        pausedAt = i;
        assert.equal(await isSettled(wait), false, 'paused while the broker is away');
        broker.back();
      }
      if (wait) await wait;
    }
    await stream.flush();
    assert.ok(pausedAt > 1000, `paused only after memory and disk filled (line ${pausedAt})`);
    assert.ok(peakMemory <= 1_000, `memory bound kept: ${peakMemory}`);
    assert.ok(peakDisk > maxBytes / 2 && peakDisk <= maxBytes, `disk bound kept: ${peakDisk}`);
    assert.deepEqual(seqs(broker.lines), oneTo(20_000));
    assert.equal(existsSync(dir), false);
  });

  it('keeps batches in memory, under backpressure, when the spill directory cannot be made', async () => {
    const broker = new AwayBroker();
    const notADirectory = join(base, 'a-file');
    await writeFile(notADirectory, '');
    const errors: unknown[] = [];
    const stream = spilling(broker, join(notADirectory, 'spill-op-1'), {
      batchLines: 10,
      maxBufferedLines: 100,
      onSpillError: (error) => errors.push(error),
    });
    let pausedAt = 0;
    for (let i = 1; i <= 1000; i++) {
      const wait = stream.line('t', 'stdout', lineText(i));
      if (wait && !pausedAt) {
        pausedAt = i;
        broker.back();
      }
      if (wait) await wait;
    }
    await stream.flush();
    assert.equal(pausedAt, 100, 'paused at the memory bound, as without spilling');
    assert.equal(errors.length, 1, 'reported once');
    assert.match(String(errors[0]), /ENOTDIR/);
    assert.deepEqual(seqs(broker.lines), oneTo(1000));
  });

  it('reports a spill file that cannot be read back, and goes on with the rest', async () => {
    const broker = new AwayBroker();
    const dir = join(base, 'spill-lost');
    const errors: unknown[] = [];
    const stream = spilling(broker, dir, {
      batchLines: 10,
      maxBufferedLines: 20,
      onSpillError: (error) => errors.push(error),
    });
    for (let i = 1; i <= 100; i++) emit(stream, 't', lineText(i));
    const names = readdirSync(dir).sort();
    assert.ok(names.length >= 5);
    const lost = logLinesOf(JSON.parse(readFileSync(join(dir, names[2]), 'utf8')) as LinesMessage);
    await unlink(join(dir, names[2]));
    broker.back();
    await stream.flush();
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /ENOENT/);
    const lostSeqs = new Set(seqs(lost));
    assert.deepEqual(
      seqs(broker.lines),
      oneTo(100).filter((seq) => !lostSeqs.has(seq)),
    );
    assert.equal(existsSync(dir), false);
  });
});
