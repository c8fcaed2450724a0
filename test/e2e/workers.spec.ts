/**
 * `GET /workers` and `aegir workers` on the real apps: the dispatcher shows up by its
 * heartbeat, an operation it runs is listed on it while it runs and gone once it ended, and
 * a dispatcher that stopped turns `silent` after the relay's RELAY_LOST_AFTER_MS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Stack } from '../support/stack';
import { waitUntil } from '../support/wait';

interface WorkerItem {
  dispatcherId: string;
  pool: string;
  state: string;
  running: number;
  concurrency: number | null;
  operations: { id: string; type: string | null; target: string | null }[];
  lastSeenAt: string;
}

/** The horizon of this stack: short, so that a stopped dispatcher turns silent soon. */
const LOST_AFTER_MS = 4000;

describe('workers: the dispatchers seen by heartbeat', () => {
  let stack: Stack;
  let dispatcherId: string;
  let viewer: string;

  before(async () => {
    stack = await Stack.start({
      prefix: 'aegir_e2e_workers',
      env: {
        relay: { RELAY_LOST_AFTER_MS: String(LOST_AFTER_MS), RELAY_LOST_CHECK_MS: '500' },
        dispatcher: { DISPATCHER_CONCURRENCY: '3' },
      },
    });
    dispatcherId = String(stack.envOf('dispatcher').DISPATCHER_ID);
    viewer = await stack.createToken('workers-viewer', 'viewer');
  });

  after(async () => {
    await stack?.stop();
  });

  const workers = async (): Promise<WorkerItem[]> => {
    const response = await stack.request<{ items: WorkerItem[] }>('GET', '/workers', undefined, {
      token: viewer,
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.items;
  };
  const ours = async () => (await workers()).find((item) => item.dispatcherId === dispatcherId);

  it('lists the dispatcher once its heartbeat came: its pool, its concurrency, alive', async () => {
    await waitUntil('the dispatcher is listed', async () => (await ours()) !== undefined, 15_000);
    const worker = await ours();
    assert.deepEqual(
      [worker?.pool, worker?.state, worker?.concurrency, worker?.running],
      ['default', 'alive', 3, 0],
    );
  });

  it('shows the operation it runs, on it, while it runs; and nothing once it ended', async () => {
    const op = await stack.createOperation('test.sleep', 'web1', { seconds: 4 });
    await stack.waitForStatus(op.id, ['running']);
    await waitUntil(
      'the operation is listed on the dispatcher',
      async () => (await ours())?.operations.some((running) => running.id === op.id) ?? false,
      10_000,
    );
    assert.deepEqual((await ours())?.operations, [
      { id: op.id, type: 'test.sleep', target: 'web1' },
    ]);

    const table = await stack.aegir(['workers']);
    assert.equal(table.code, 0, table.stderr);
    const row = table.stdout.split('\n').find((line) => line.startsWith(dispatcherId));
    assert.ok(row, table.stdout);
    assert.match(
      row,
      new RegExp(`\\sdefault\\s+alive\\s+1/3\\s.*${op.id} \\(test\\.sleep on web1\\)$`),
    );

    const json = await stack.aegir(['workers', '--pool', 'default', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const { items } = JSON.parse(json.stdout) as { items: WorkerItem[] };
    assert.deepEqual(
      items.map((item) => [item.dispatcherId, item.running, item.operations.map((o) => o.id)]),
      [[dispatcherId, 1, [op.id]]],
    );
    // the same through a remote api, with a database the CLI cannot reach
    const remote = await stack.aegir(['workers', '--pool', 'default', '--json'], {
      AEGIR_API_URL: stack.apiUrl,
      AEGIR_API_TOKEN: await stack.createToken('workers-remote', 'viewer'),
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    assert.equal(remote.code, 0, remote.stderr);
    const remoteItems = (JSON.parse(remote.stdout) as { items: WorkerItem[] }).items;
    assert.deepEqual(
      remoteItems.map((item) => [item.dispatcherId, item.running, item.operations]),
      [[dispatcherId, 1, [{ id: op.id, type: 'test.sleep', target: 'web1' }]]],
    );

    assert.equal((await stack.waitForEnd(op.id)).status, 'succeeded');
    await waitUntil('nothing is listed on it any more', async () => (await ours())?.running === 0);
    assert.equal((await ours())?.state, 'alive');
  });

  it('answers 401 without a token', async () => {
    const response = await stack.request('GET', '/workers', undefined, { token: null });
    assert.equal(response.status, 401);
  });

  it('shows a dispatcher that stopped as silent past the horizon, and keeps its last seen', async () => {
    const lastBefore = (await ours())?.lastSeenAt;
    assert.equal(await stack.app('dispatcher').stop(), 0);
    await waitUntil(
      'the stopped dispatcher is silent',
      async () => (await ours())?.state === 'silent',
      LOST_AFTER_MS + 5000,
    );
    const worker = await ours();
    assert.ok(worker && lastBefore && worker.lastSeenAt >= lastBefore);
    const table = await stack.aegir(['workers']);
    assert.match(table.stdout, new RegExp(`^${dispatcherId}\\s+default\\s+silent\\s+0/3\\s`, 'm'));
  });
});
