/**
 * The api container's health check (docker/healthcheck.sh runs it): the api's own
 * GET /health/ready answers 200 (PostgreSQL answers, the catalogue is loaded). Exit 0
 * healthy, 1 not, with what is down.
 */
import { askReady, runHealthCheck } from '@app/platform';
import { apiEnvironment } from './api.environment';

void runHealthCheck('api', () => {
  const { host, port } = apiEnvironment.validate(process.env).api;
  return { ready: () => askReady(host, port) };
});
