import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { HeartbeatMessage } from '@app/contracts';
import type { DataSource } from 'typeorm';
import { openTestDataSource } from '../../../test/support/database';
import { testPlan } from '../../../test/support/messages';
import { DispatcherStore } from './dispatcher-store';
import { OperationStateRepository } from './operation-state.repository';

/** A beat `secondsAgo` before now (the store judges silence by the database's clock). */
function beat(
  dispatcherId: string,
  secondsAgo: number,
  operations: string[] = [],
  extra: Partial<HeartbeatMessage> = {},
): HeartbeatMessage {
  return {
    v: 1,
    kind: 'heartbeat',
    dispatcherId,
    pool: 'default',
    operations,
    at: new Date(Date.now() - secondsAgo * 1000).toISOString(),
    ...extra,
  };
}

describe('dispatchers: recorded with the heartbeats, listed by DispatcherStore', () => {
  let ds: DataSource;
  let close: (() => Promise<void>) | undefined;
  let state: OperationStateRepository;
  let store: DispatcherStore;

  before(async () => {
    ({ ds, close } = await openTestDataSource('aegir_test_dispatchers'));
    state = new OperationStateRepository(ds);
    store = new DispatcherStore(ds);
  });

  after(async () => {
    await close?.();
  });

  const record = (beats: HeartbeatMessage[], silenceSeconds = 60) =>
    ds.transaction((manager) => state.recordHeartbeats(manager, beats, silenceSeconds));

  it('lists nothing before any heartbeat', async () => {
    assert.deepEqual(await store.list(), []);
  });

  it('upserts each dispatcher from its latest beat of the batch, with what it runs', async () => {
    const plan = testPlan({ target: 'web1' });
    const op = await state.create(plan);
    const unknown = randomUUID();
    await record([
      beat('d-1', 30, [], { concurrency: 4 }),
      beat('d-1', 2, [op, unknown], { concurrency: 4 }),
      beat('d-1', 10, [], { concurrency: 4 }),
      beat('d-2', 1),
    ]);
    const [d1, d2, ...rest] = await store.list();
    assert.deepEqual(rest, []);
    assert.deepEqual(
      {
        id: d1.dispatcherId,
        pool: d1.pool,
        state: d1.state,
        running: d1.running,
        concurrency: d1.concurrency,
        operations: d1.operations,
      },
      {
        id: 'd-1',
        pool: 'default',
        state: 'alive',
        running: 2,
        concurrency: 4,
        operations: [
          { id: op, type: 'demo.hello', target: 'web1' },
          { id: unknown, type: null, target: null },
        ],
      },
    );
    // the latest beat's `at`, and silent 60 s after it
    assert.ok(Math.abs(d1.lastSeenAgoMs - 2000) < 1500, `last seen ${d1.lastSeenAgoMs} ms ago`);
    assert.equal(
      Date.parse(d1.silentAfter) - Date.parse(d1.lastSeenAt),
      60_000,
      'silent one horizon after it was last seen',
    );
    assert.deepEqual([d2.dispatcherId, d2.concurrency, d2.running], ['d-2', null, 0]);
  });

  it('keeps first seen, moves last seen only forward, and shows the operations of the latest beat', async () => {
    const [before] = await store.list();
    await record([beat('d-1', 1, [], { concurrency: 4 })]);
    const [now] = await store.list();
    assert.equal(now.firstSeenAt, before.firstSeenAt);
    assert.ok(now.lastSeenAt > before.lastSeenAt);
    assert.deepEqual([now.running, now.operations], [0, []], 'it finished what it ran');
    // a beat delivered late (older than the row) changes nothing
    await record([beat('d-1', 50, [randomUUID()], { concurrency: 4 })]);
    const [late] = await store.list();
    assert.deepEqual([late.lastSeenAt, late.running], [now.lastSeenAt, 0]);
  });

  it('shows a dispatcher silent once the horizon passed since its last beat', async () => {
    await record([beat('d-3', 5)], 2);
    const d3 = (await store.list()).find((item) => item.dispatcherId === 'd-3');
    assert.equal(d3?.state, 'silent');
    await record([beat('d-3', 0)], 2);
    assert.equal((await store.list()).find((item) => item.dispatcherId === 'd-3')?.state, 'alive');
  });

  it('keeps the same id of two pools apart, and filters by pool', async () => {
    await record([beat('d-1', 0, [], { pool: 'other' })]);
    const all = await store.list();
    assert.deepEqual(
      all.map((item) => `${item.pool}/${item.dispatcherId}`),
      ['default/d-1', 'default/d-2', 'default/d-3', 'other/d-1'],
    );
    const other = await store.list({ pool: 'other' });
    assert.deepEqual(
      other.map((item) => `${item.pool}/${item.dispatcherId}`),
      ['other/d-1'],
    );
    assert.deepEqual(await store.list({ pool: 'none' }), []);
  });

  it('forgets the dispatchers last seen longer ago than asked', async () => {
    await record([beat('old', 7200)]);
    assert.equal(await state.forgetDispatchers(new Date(), 3600), 1);
    const ids = (await store.list()).map((item) => item.dispatcherId);
    assert.ok(!ids.includes('old'));
    assert.ok(ids.includes('d-1'), 'the others stay');
  });
});
