/**
 * docker/grafana/aegir-queue.json, the Grafana dashboard: valid JSON that Grafana imports
 * (panels placed on the grid, each query on the dashboard's Prometheus data source), and
 * queries only metrics the apps export. The names are checked here against the README's
 * metrics list; test/e2e/observability.spec checks them against the running apps' /metrics.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { dashboardMetrics, loadDashboard, queriedMetrics } from './dashboard';

const repoRoot = resolve(__dirname, '..', '..', '..');
const dashboard = loadDashboard(join(repoRoot, 'docker', 'grafana', 'aegir-queue.json'));

/** The metric names the README's Metrics table lists (its first column). */
function readmeMetrics(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  return [...readme.matchAll(/^\| `((?:aegir|process|nodejs)_[a-z0-9_]+)`/gm)].map((m) => m[1]);
}

describe('docker/grafana/aegir-queue.json', () => {
  it('is a dashboard with a uid, a title and a Prometheus data source variable', () => {
    assert.equal(dashboard.uid, 'aegir-queue');
    assert.ok(dashboard.title);
    assert.ok(dashboard.schemaVersion >= 30);
    const variable = dashboard.templating.list.find((item) => item.type === 'datasource');
    assert.deepEqual([variable?.name, variable?.query], ['datasource', 'prometheus']);
  });

  it('places every panel on the 24-column grid, with unique ids', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
    for (const { title, gridPos } of dashboard.panels) {
      assert.ok(gridPos.w > 0 && gridPos.x >= 0 && gridPos.x + gridPos.w <= 24, title);
      assert.ok(gridPos.h > 0 && gridPos.y >= 0, title);
    }
  });

  it('queries each of its graphs on the data source variable', () => {
    const graphs = dashboard.panels.filter((panel) => panel.type !== 'row');
    assert.ok(graphs.length >= 10, `${graphs.length} panels`);
    for (const panel of graphs) {
      assert.ok(panel.targets?.length, `${panel.title} has a query`);
      assert.equal(panel.datasource?.uid, '${datasource}', panel.title);
      for (const target of panel.targets) {
        assert.ok(target.expr.trim(), `${panel.title} ${target.refId}`);
        assert.ok(queriedMetrics(target.expr).length > 0, `${panel.title}: ${target.expr}`);
      }
    }
  });

  it('reads every metric the issue names, and only metrics the README lists', () => {
    const queried = dashboardMetrics(dashboard);
    const listed = readmeMetrics();
    assert.ok(listed.length > 0, "the README's Metrics table");
    for (const name of queried) assert.ok(listed.includes(name), `${name} is in the README`);
    for (const name of [
      'aegir_operations_created_total',
      'aegir_operations_ended_total',
      'aegir_outbox_backlog',
      'aegir_outbox_oldest_age_seconds',
      'aegir_operation_start_latency_seconds',
      'aegir_log_lines_ingested_total',
      'aegir_event_batch_size',
      'aegir_event_batch_commit_seconds',
      'aegir_event_lanes_busy',
      'aegir_event_lag_seconds',
      'aegir_dead_lettered_total',
      'aegir_dispatcher_running_tasks',
      'aegir_dispatcher_spill_bytes',
      'aegir_sse_streams_open',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(queried.includes(name), `a panel shows ${name}`);
    }
  });

  it('finds the metric names in an expression, as its own check does', () => {
    assert.deepEqual(
      queriedMetrics(
        'histogram_quantile(0.99, sum by (le, type) (rate(aegir_x_seconds_bucket{job="a"}[$__rate_interval]))) / sum(aegir_y)',
      ),
      ['aegir_x_seconds', 'aegir_y'],
    );
  });
});
