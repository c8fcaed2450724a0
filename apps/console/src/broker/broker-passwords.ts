import { POOL_PATTERN } from '@app/contracts';
import { CliError } from '../cli-error';
import type { BrokerSetupSettings } from './broker-setup.settings';

/**
 * The passwords given in the environment, by role. `BROKER_DISPATCHER_PASSWORDS` is
 * `pool=password,…` (a password holds no comma); a bad entry is named by its position,
 * never by its text.
 */
export function givenPasswords(settings: BrokerSetupSettings): Record<string, string> {
  const passwords: Record<string, string> = {};
  if (settings.relayPassword) passwords.relay = settings.relayPassword;
  if (settings.consolePassword) passwords.console = settings.consolePassword;
  const entries = (settings.dispatcherPasswords ?? '').split(',').filter((entry) => entry !== '');
  entries.forEach((entry, index) => {
    const split = entry.indexOf('=');
    const pool = split > 0 ? entry.slice(0, split).trim() : '';
    const password = split > 0 ? entry.slice(split + 1) : '';
    if (!POOL_PATTERN.test(pool) || password === '') {
      throw new CliError(
        `BROKER_DISPATCHER_PASSWORDS entry ${index + 1} must be pool=password with a pool matching ${String(POOL_PATTERN)}`,
      );
    }
    passwords[`dispatcher-${pool}`] = password;
  });
  return passwords;
}
