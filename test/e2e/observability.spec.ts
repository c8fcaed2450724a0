/**
 * /metrics and /health/* of the real apps (issue 10, items 4 and 5): each app exports its
 * named metrics and they move when an operation runs through the stack; the dashboard
 * queries only what they export; ready is 503 while an app's database or broker is out of
 * reach (through a TcpGate: the services themselves are never stopped) and 200 again after.
 */
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freeLocalPort } from '@app/platform';
import { dashboardMetrics, exportedMetrics, loadDashboard } from '../docker/dashboard';
import { AppProcess } from '../support/processes';
import { RawAmqp } from '../support/services';
import { Stack } from '../support/stack';
import { TcpGate } from '../support/tcp-gate';
import { waitUntil } from '../support/wait';

type App = 'api' | 'relay' | 'dispatcher';

const NAMED: Record<App, string[]> = {
  api: ['aegir_operations_created_total', 'aegir_operations_ended_total', 'aegir_sse_streams_open'],
  relay: [
    'aegir_operations_ended_total',
    'aegir_operation_start_latency_seconds',
    'aegir_outbox_backlog',
    'aegir_outbox_oldest_age_seconds',
    'aegir_log_lines_ingested_total',
    'aegir_event_batch_size',
    'aegir_event_batch_commit_seconds',
    'aegir_event_lag_seconds',
    'aegir_event_lanes',
    'aegir_event_lanes_busy',
    'aegir_dead_lettered_total',
  ],
  dispatcher: [
    'aegir_dispatcher_running_tasks',
    'aegir_dispatcher_slots',
    'aegir_dispatcher_spill_bytes',
    'aegir_dispatcher_buffered_lines',
    'aegir_dispatcher_operations_finished_total',
    'aegir_dead_lettered_total',
  ],
};
const PROCESS_METRICS = ['process_cpu_seconds_total', 'process_resident_memory_bytes'];

/** The value of one series of an exposition, its labels a superset of `labels`; 0 if absent. */
function valueOf(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) {
      return match[3] === 'Nan' ? NaN : Number(match[3]); // prom-client's spelling
    }
  }
  return 0;
}

describe('metrics and health of the running apps', () => {
  let stack: Stack;

  const get = (url: string, token?: string) =>
    fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  async function metricsOf(app: App): Promise<string> {
    const response = await get(
      `${stack.httpUrl(app)}/metrics`,
      app === 'api' ? stack.metricsToken : undefined,
    );
    assert.equal(response.status, 200, `${app} /metrics`);
    const type = response.headers.get('content-type') ?? '';
    assert.ok(/^text\/plain;/.test(type) && type.includes('version=0.0.4'), type);
    return response.text();
  }

  before(async () => {
    stack = await Stack.start({ prefix: 'aegir_observability' });
  });
  after(() => stack?.stop());

  it('each app answers /metrics with its named metrics and the process metrics', async () => {
    for (const app of ['api', 'relay', 'dispatcher'] as const) {
      const exported = exportedMetrics(await metricsOf(app));
      for (const name of [...NAMED[app], ...PROCESS_METRICS]) {
        assert.ok(exported.includes(name), `${app} exports ${name}`);
      }
    }
    const dispatcher = await metricsOf('dispatcher');
    const id = stack.envOf('dispatcher').DISPATCHER_ID!;
    assert.equal(
      valueOf(dispatcher, 'aegir_dispatcher_slots', { dispatcher: id, pool: 'default' }),
      4,
    );
    assert.equal(valueOf(await metricsOf('relay'), 'aegir_event_lanes'), 2);
  });

  it("the api's /metrics takes API_METRICS_TOKEN only: 401 without it, or with an api token", async () => {
    const url = `${stack.httpUrl('api')}/metrics`;
    for (const token of [undefined, stack.token, `${stack.metricsToken}x`]) {
      const response = await get(url, token);
      assert.equal(response.status, 401, `token ${String(token).slice(0, 8)}`);
      assert.doesNotMatch(await response.text(), /aegir_/);
    }
    // and it is where monitoring looks for it: not under /api/v1
    assert.equal((await get(`${stack.apiUrl}/metrics`, stack.metricsToken)).status, 404);
  });

  it('an operation run through the stack moves created, ended, lines and the latencies', async () => {
    const [api, relay, dispatcher] = await Promise.all(
      (['api', 'relay', 'dispatcher'] as const).map(metricsOf),
    );
    const type = { type: 'test.lines' };
    const succeeded = { type: 'test.lines', status: 'succeeded' };
    const created = await stack.request('POST', '/operations', {
      type: 'test.lines',
      target: 'metrics-host',
      params: { count: 500 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const ended = await stack.waitForEnd(created.body.id);
    assert.equal(ended.status, 'succeeded');
    assert.equal(ended.complete, true);

    const [apiAfter, relayAfter, dispatcherAfter] = await Promise.all(
      (['api', 'relay', 'dispatcher'] as const).map(metricsOf),
    );
    const moved = (before: string, after: string, name: string, labels = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    assert.equal(moved(api, apiAfter, 'aegir_operations_created_total', type), 1);
    assert.equal(moved(relay, relayAfter, 'aegir_operations_ended_total', succeeded), 1);
    assert.equal(
      moved(dispatcher, dispatcherAfter, 'aegir_dispatcher_operations_finished_total', succeeded),
      1,
    );
    // 500 lines of seq and the dispatcher's own system lines
    assert.equal(
      moved(relay, relayAfter, 'aegir_log_lines_ingested_total'),
      ended.lineCount,
      'every line the operation emitted',
    );
    assert.ok(ended.lineCount >= 500);
    assert.equal(moved(relay, relayAfter, 'aegir_operation_start_latency_seconds_count', type), 1);
    assert.ok(moved(relay, relayAfter, 'aegir_event_batch_size_count') >= 1);
    assert.ok(moved(relay, relayAfter, 'aegir_event_batch_commit_seconds_count') >= 1);
    assert.ok(moved(relay, relayAfter, 'aegir_event_lag_seconds_count') >= 1);
    assert.equal(valueOf(dispatcherAfter, 'aegir_dispatcher_running_tasks'), 0);
    assert.equal(valueOf(relayAfter, 'aegir_outbox_backlog'), 0);
  });

  it('counts the SSE streams open, by kind, and a closed one no more', async () => {
    const open = async () => {
      const text = await metricsOf('api');
      return {
        log: valueOf(text, 'aegir_sse_streams_open', { kind: 'log' }),
        operations: valueOf(text, 'aegir_sse_streams_open', { kind: 'operations' }),
      };
    };
    assert.deepEqual(await open(), { log: 0, operations: 0 });
    const created = await stack.request('POST', '/operations', {
      type: 'test.sleep',
      target: 'metrics-streams',
      params: { seconds: 30 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const streams = new AbortController();
    const follow = (path: string) =>
      fetch(`${stack.apiUrl}${path}`, {
        headers: { authorization: `Bearer ${stack.token}` },
        signal: streams.signal,
      });
    const log = `/operations/${created.body.id}/log/stream`;
    const responses = await Promise.all([follow(log), follow(log), follow('/operations/stream')]);
    for (const response of responses) assert.equal(response.status, 200);
    assert.deepEqual(await open(), { log: 2, operations: 1 });
    streams.abort();
    await waitUntil('the closed streams leave the gauge', async () => {
      const now = await open();
      return now.log === 0 && now.operations === 0;
    });
    await stack.request('POST', `/operations/${created.body.id}/cancel`, {});
  });

  it('counts a dead-lettered message on the queue it came from', async () => {
    const relay = await metricsOf('relay');
    const labels = { queue: 'aegir.events' };
    // as the dispatcher's user, which may publish events
    const amqp = await RawAmqp.connect(await stack.brokerUrl('dispatcher-default'));
    try {
      await amqp.publish('aegir.events', 'lines', 'not json');
    } finally {
      await amqp.close();
    }
    await waitUntil('the relay counted the dead letter', async () => {
      return (
        valueOf(await metricsOf('relay'), 'aegir_dead_lettered_total', labels) >
        valueOf(relay, 'aegir_dead_lettered_total', labels)
      );
    });
  });

  it('the Grafana dashboard queries only metrics the apps export', async () => {
    const exported = new Set(
      (await Promise.all((['api', 'relay', 'dispatcher'] as const).map(metricsOf))).flatMap(
        exportedMetrics,
      ),
    );
    const dashboard = loadDashboard(
      join(resolve(__dirname, '..', '..', '..'), 'docker', 'grafana', 'aegir-queue.json'),
    );
    for (const name of dashboardMetrics(dashboard)) {
      assert.ok(exported.has(name), `an app exports ${name}, which the dashboard queries`);
    }
  });

  it('/health/live and /health/ready answer 200 on every app, with what was checked', async () => {
    const checked: Record<App, string[]> = {
      api: ['database', 'catalogue'],
      relay: ['database', 'broker'],
      dispatcher: ['broker', 'catalogue', 'work dir'],
    };
    for (const app of ['api', 'relay', 'dispatcher'] as const) {
      const live = await get(`${stack.httpUrl(app)}/health/live`);
      assert.equal(live.status, 200, `${app} live`);
      const ready = await get(`${stack.httpUrl(app)}/health/ready`);
      const body = (await ready.json()) as { status: string; info: Record<string, unknown> };
      assert.equal(ready.status, 200, `${app} ready: ${JSON.stringify(body)}`);
      assert.equal(body.status, 'ok');
      assert.deepEqual(Object.keys(body.info).sort(), [...checked[app]].sort(), app);
    }
    // the api's old route still answers
    assert.equal((await stack.request('GET', '/health', undefined, { token: null })).status, 200);
  });

  describe('ready follows what the app depends on', () => {
    const started: AppProcess[] = [];
    const gates: TcpGate[] = [];
    after(async () => {
      await Promise.all(started.map((app) => app.stop()));
      await Promise.all(gates.map((gate) => gate.close()));
    });
    const gateTo = async (port: number) => {
      const gate = await TcpGate.open(port);
      gates.push(gate);
      return gate;
    };

    /** Starts another instance of `app` with `env` over the stack's, and waits until it is ready. */
    async function startAnother(app: App, env: NodeJS.ProcessEnv): Promise<AppProcess> {
      const process = new AppProcess(app, { ...stack.envOf(app), ...env });
      started.push(process);
      await process.waitFor(`${app} ready`);
      return process;
    }

    async function readiness(url: string): Promise<{ status: number; body: any }> {
      const response = await fetch(`${url}/health/ready`);
      return { status: response.status, body: await response.json() };
    }

    it('api: 503 naming the database while PostgreSQL is out of reach, 200 once it answers', async () => {
      const gate = await gateTo(5432);
      const port = await freeLocalPort();
      await startAnother('api', {
        DATABASE_URL: gate.through(stack.db.url),
        API_PORT: String(port),
      });
      const url = `http://127.0.0.1:${port}`;
      assert.equal((await readiness(url)).status, 200);
      await gate.cut();
      try {
        const down = await readiness(url);
        assert.equal(down.status, 503, JSON.stringify(down.body));
        assert.equal(down.body.error.database.status, 'down');
        assert.equal(down.body.info.catalogue.status, 'up');
        assert.equal((await fetch(`${url}/health/live`)).status, 200, 'still live');
        // the scrape needs no database: the metrics are there when they matter
        assert.equal((await get(`${url}/metrics`, stack.metricsToken)).status, 200);
      } finally {
        await gate.restore();
      }
      await waitUntil('the api is ready again', async () => (await readiness(url)).status === 200);
    });

    it('relay: 503 naming the database while PostgreSQL is out of reach, 200 once it answers', async () => {
      const gate = await gateTo(5432);
      const port = await freeLocalPort();
      await startAnother('relay', {
        DATABASE_URL: gate.through(stack.db.url),
        RELAY_HTTP_PORT: String(port),
      });
      const url = `http://127.0.0.1:${port}`;
      assert.equal((await readiness(url)).status, 200);
      await gate.cut();
      try {
        const down = await readiness(url);
        assert.equal(down.status, 503, JSON.stringify(down.body));
        assert.equal(down.body.error.database.status, 'down');
        assert.equal(down.body.info.broker.status, 'up');
        // the outbox gauges read NaN rather than failing the scrape
        const metrics = await (await get(`${url}/metrics`)).text();
        assert.ok(Number.isNaN(valueOf(metrics, 'aegir_outbox_backlog')), 'backlog unknown');
      } finally {
        await gate.restore();
      }
      await waitUntil(
        'the relay is ready again',
        async () => (await readiness(url)).status === 200,
      );
    });

    it('dispatcher: 503 naming the broker while RabbitMQ is out of reach, 200 once it is back', async () => {
      const gate = await gateTo(5672);
      const port = await freeLocalPort();
      await startAnother('dispatcher', {
        AMQP_URL: gate.through(stack.envOf('dispatcher').AMQP_URL!),
        DISPATCHER_HTTP_PORT: String(port),
        DISPATCHER_ID: `observability-${port}`,
        DISPATCHER_WORK_DIR: join(stack.workDir, 'second'),
      });
      const url = `http://127.0.0.1:${port}`;
      assert.equal((await readiness(url)).status, 200);
      await gate.cut();
      try {
        await waitUntil(
          'the dispatcher is not ready',
          async () => (await readiness(url)).status === 503,
        );
        const down = await readiness(url);
        assert.equal(down.body.error.broker.status, 'down');
        assert.equal(down.body.info.catalogue.status, 'up');
      } finally {
        await gate.restore();
      }
      await waitUntil(
        'the dispatcher is ready again',
        async () => (await readiness(url)).status === 200,
        20_000,
      );
    });
  });
});
