import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The app's own prom-client registry, with the process metrics (CPU, memory, event loop
 * lag, GC, handles) every app exports. One per app, not prom-client's global one: tests
 * build several apps in one process, and each must count only its own.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Prometheus' text format, as `GET /metrics` answers it. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
