import { readFileSync } from 'node:fs';

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
}

export interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: { name: string; type: string; query?: string }[] };
}

export function loadDashboard(path: string): Dashboard {
  return JSON.parse(readFileSync(path, 'utf8')) as Dashboard;
}

/** Words of PromQL that are not metric names: functions, aggregations, keywords. */
const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'irate',
  'increase',
  'histogram_quantile',
  'by',
  'without',
  'on',
  'ignoring',
  'le',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
]);

/**
 * The metric names an expression reads, as the apps export them: a histogram's `_bucket`,
 * `_sum` and `_count` series are its one name. Label matchers, label names in `by (…)` and
 * `[$__rate_interval]` are left out.
 */
export function queriedMetrics(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, '');
  const names = [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map(([name]) => name)
    .filter((name) => !PROMQL_WORDS.has(name));
  return [...new Set(names.map((name) => name.replace(/_(?:bucket|sum|count)$/, '')))];
}

/** Every metric the dashboard's panels query. */
export function dashboardMetrics(dashboard: Dashboard): string[] {
  const exprs = dashboard.panels.flatMap((panel) => panel.targets ?? []).map((t) => t.expr);
  return [...new Set(exprs.flatMap(queriedMetrics))].sort();
}

/** The metric names of a Prometheus text exposition, from its `# TYPE` lines. */
export function exportedMetrics(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((match) => match[1]);
}
