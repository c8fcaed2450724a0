/**
 * The dispatcher container's health check (docker/healthcheck.sh runs it): RabbitMQ
 * answers with the dispatcher's own settings, its work directory (workspaces, spill files,
 * the pid file) is writable and so is its state directory (what tasks keep), or its
 * nearest existing parent. Exit 0 healthy, 1 not.
 * Issue 10 replaces it with the dispatcher's /health/ready endpoint.
 */
import { access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pingBroker } from '@app/amqp';
import { runHealthCheck } from '@app/platform';
import { dispatcherEnvironment } from './dispatcher.environment';

async function writable(dir: string): Promise<void> {
  await access(dir, constants.W_OK | constants.X_OK);
}

/** Tasks create what they keep under the state dir, so it may not exist yet; its parent must let them. */
async function writableOrCreatable(dir: string): Promise<void> {
  try {
    await writable(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(dir) === dir) throw error;
    await writableOrCreatable(dirname(dir));
  }
}

void runHealthCheck('dispatcher', () => {
  const { dispatcher, amqp } = dispatcherEnvironment.validate(process.env);
  const { workDir, stateDir } = dispatcher;
  return {
    broker: () => pingBroker(amqp.url),
    'work dir': () => writable(workDir),
    'state dir': () => writableOrCreatable(stateDir),
  };
});
