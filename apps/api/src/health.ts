/**
 * The api container's health check (docker/healthcheck.sh runs it): the api's own HTTP
 * port answers GET /api/v1/health (open without a token) with 200. Exit 0 healthy, 1 not.
 * Issue 10 replaces it with the api's /health/ready endpoint.
 */
import { runHealthCheck } from '@app/platform';
import { API_PREFIX } from './api-prefix';
import { apiEnvironment } from './api.environment';

/** Where a client on this host reaches an api listening on `host` (any address: loopback). */
function localAddress(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

async function answers(url: string): Promise<void> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) }).catch(
    (error: Error & { cause?: Error }) => {
      throw new Error(`GET ${url}: ${error.cause?.message ?? error.message}`);
    },
  );
  await response.body?.cancel();
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
}

void runHealthCheck('api', () => {
  const { host, port } = apiEnvironment.validate(process.env).api;
  const url = `http://${localAddress(host)}:${port}/${API_PREFIX}/health`;
  return { http: () => answers(url) };
});
