/**
 * The dispatcher container's health check (docker/healthcheck.sh runs it): the
 * dispatcher's own GET /health/ready on DISPATCHER_HTTP_PORT answers 200 (RabbitMQ is
 * connected and its queues consumed, the catalogue is loaded, the work dir is writable).
 * Exit 0 healthy, 1 not, with what is down.
 */
import { askReady, runHealthCheck } from '@app/platform';
import { dispatcherEnvironment } from './dispatcher.environment';

void runHealthCheck('dispatcher', () => {
  const { httpHost, httpPort } = dispatcherEnvironment.validate(process.env).dispatcher;
  return { ready: () => askReady(httpHost, httpPort) };
});
