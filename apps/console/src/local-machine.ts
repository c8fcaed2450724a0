import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AmqpSettings } from '@app/amqp';
import type { DatabaseSettings } from '@app/database';
import {
  MachineSetupError,
  prepareMachine,
  realHost,
  type MachineHost,
  type PreparedMachine,
} from '@app/platform';
import type { BrokerSetupSettings } from './broker/broker-setup.settings';
import { CliError } from './cli-error';

/** The checkout this program runs from: the nearest directory up with a package.json. */
export function projectDir(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/**
 * Prepares this machine (see prepareMachine) for what the console starts next: the apps it
 * spawns inherit the PATH with the project's own tools.
 */
export async function prepareLocalMachine(
  database: DatabaseSettings,
  amqp: AmqpSettings,
  brokerSetup: BrokerSetupSettings,
  host: MachineHost = realHost,
): Promise<PreparedMachine> {
  try {
    const prepared = await prepareMachine(
      {
        databaseUrl: database.url,
        amqpUrl: amqp.url,
        managementUrl: brokerSetup.adminUrl,
        projectDir: projectDir(),
        path: process.env.PATH ?? '',
      },
      host,
    );
    process.env.PATH = prepared.path;
    return prepared;
  } catch (error) {
    if (error instanceof MachineSetupError) throw new CliError(error.message, error.exitCode);
    throw error;
  }
}
