/**
 * The relay container's health check (docker/healthcheck.sh runs it): the relay's own
 * GET /health/ready on RELAY_HTTP_PORT answers 200 (PostgreSQL answers, RabbitMQ is
 * connected and its queues consumed). Exit 0 healthy, 1 not, with what is down.
 */
import { askReady, runHealthCheck } from '@app/platform';
import { relayEnvironment } from './relay.environment';

void runHealthCheck('relay', () => {
  const { httpHost, httpPort } = relayEnvironment.validate(process.env).relay;
  return { ready: () => askReady(httpHost, httpPort) };
});
