import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LaneBatcher, laneOf, type BatchEntry } from './lane-batcher';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Item {
  key: string;
  n: number;
}

/** Two keys that take different lanes of two. */
function twoLanes(): [string, string] {
  const first = 'op-a';
  let n = 0;
  while (laneOf(`op-${n}`, 2) === laneOf(first, 2)) n++;
  return [first, `op-${n}`];
}

describe('LaneBatcher', () => {
  it('writes batches of at most maxBatch, in order, one at a time, and resolves each add at its write', async () => {
    const batches: number[][] = [];
    let active = 0;
    let mostActive = 0;
    const batcher = new LaneBatcher<number>({ maxBatch: 10, maxWaitMs: 5 }, async (batch) => {
      active++;
      mostActive = Math.max(mostActive, active);
      await sleep(5);
      batches.push(batch.map((entry) => entry.value));
      active--;
    });
    const written: number[] = [];
    const adds = Array.from({ length: 35 }, (_, n) =>
      batcher.add(n).then(() => {
        assert.ok(batches.flat().includes(n), `${n} resolved before its batch was written`);
        written.push(n);
      }),
    );
    await Promise.all(adds);
    await batcher.close();

    assert.deepEqual(
      batches.flat(),
      Array.from({ length: 35 }, (_, n) => n),
    );
    for (const batch of batches) assert.ok(batch.length <= 10, `a batch of ${batch.length}`);
    assert.ok(batches.length >= 4);
    assert.equal(mostActive, 1, 'never two batches of one lane at once');
    assert.equal(written.length, 35);
  });

  it('with lanes, writes two keys at once, each in its own order', async () => {
    const [slow, quick] = twoLanes();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const seen: Record<string, number[]> = { [slow]: [], [quick]: [] };
    const batcher = new LaneBatcher<Item>(
      { maxBatch: 4, maxWaitMs: 2, lanes: 2, laneKey: (item) => item.key },
      async (batch) => {
        const key = batch[0].value.key;
        assert.ok(
          batch.every((entry) => entry.value.key === key),
          'one key per lane',
        );
        seen[key].push(...batch.map((entry) => entry.value.n));
        if (key === slow) await held;
      },
    );
    const adds: Promise<void>[] = [];
    for (let n = 1; n <= 12; n++) {
      adds.push(batcher.add({ key: slow, n }), batcher.add({ key: quick, n }));
    }
    // the slow key's first batch is held; the other lane goes on to the end
    await Promise.all(adds.filter((_, i) => i % 2 === 1));
    assert.deepEqual(seen[slow], [1, 2, 3, 4]);
    release();
    await Promise.all(adds);
    const oneTo12 = Array.from({ length: 12 }, (_, n) => n + 1);
    assert.deepEqual(seen, { [slow]: oneTo12, [quick]: oneTo12 });
    await batcher.close();
  });

  it('rejects only the entries a write failed, and all of a batch whose write threw', async () => {
    let calls = 0;
    const batcher = new LaneBatcher<number>(
      { maxBatch: 3, maxWaitMs: 20 },
      async (batch: BatchEntry<number>[]) => {
        calls++;
        if (calls === 1) {
          batch[1].fail(new Error('refused'));
          return;
        }
        throw new Error('down');
      },
    );
    const first = await Promise.allSettled([batcher.add(1), batcher.add(2), batcher.add(3)]);
    assert.deepEqual(
      first.map((outcome) => outcome.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((first[1] as PromiseRejectedResult).reason.message, 'refused');
    const second = await Promise.allSettled([batcher.add(4), batcher.add(5)]);
    assert.deepEqual(
      second.map((outcome) => outcome.status === 'rejected' && outcome.reason.message),
      ['down', 'down'],
    );
    await batcher.close();
  });

  it('close() writes what is pending at once, then refuses more', async () => {
    const written: number[] = [];
    const batcher = new LaneBatcher<number>({ maxBatch: 100, maxWaitMs: 60_000 }, async (batch) => {
      written.push(...batch.map((entry) => entry.value));
    });
    const pending = [batcher.add(1), batcher.add(2)];
    const started = Date.now();
    await batcher.close();
    await Promise.all(pending);
    assert.ok(Date.now() - started < 1_000, 'did not wait out maxWaitMs');
    assert.deepEqual(written, [1, 2]);
    await assert.rejects(batcher.add(3), /closed/);
  });
});
