/**
 * The relay container's health check (docker/healthcheck.sh runs it): PostgreSQL and
 * RabbitMQ both answer, reached with the relay's own settings. Exit 0 healthy, 1 not.
 * Issue 10 replaces it with the relay's /health/ready endpoint.
 */
import { pingBroker } from '@app/amqp';
import { pingDatabase } from '@app/database';
import { runHealthCheck } from '@app/platform';
import { relayEnvironment } from './relay.environment';

void runHealthCheck('relay', () => {
  const { database, amqp } = relayEnvironment.validate(process.env);
  return {
    database: () => pingDatabase(database.url),
    broker: () => pingBroker(amqp.url),
  };
});
