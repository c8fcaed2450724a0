/**
 * The relay container's health check (docker/healthcheck.sh runs it): PostgreSQL and
 * RabbitMQ both answer, reached with the relay's own settings. Exit 0 healthy, 1 not.
 * Issue 10 replaces it with the relay's /health/ready endpoint.
 */
import { amqpOptionsFromEnv, pingBroker } from '@app/amqp';
import { dataSourceOptions, pingDatabase } from '@app/database';
import { runHealthCheck } from '@app/platform';

void runHealthCheck('relay', () => {
  const databaseUrl = dataSourceOptions(process.env).url!;
  const { url: brokerUrl } = amqpOptionsFromEnv();
  return {
    database: () => pingDatabase(databaseUrl),
    broker: () => pingBroker(brokerUrl),
  };
});
