import { IntegerVariable, MatchingVariable, redactUrl, TextVariable } from '@app/platform';

export const DEFAULT_BROKER_ADMIN_URL = 'http://guest:guest@127.0.0.1:15672';

/** What `aegir broker:setup` (and `demo`) administer the broker with. */
export class BrokerSetupSettings {
  /** RabbitMQ's management API, as a user that may create vhosts, users and permissions. */
  @MatchingVariable('BROKER_ADMIN_URL', /^https?:\/\//, {
    rule: 'start with http:// or https://',
    shownAs: redactUrl,
  })
  readonly adminUrl: string = DEFAULT_BROKER_ADMIN_URL;

  /** How long one management API request may take. */
  @IntegerVariable('BROKER_ADMIN_TIMEOUT_MS', { min: 1 })
  readonly adminTimeoutMs: number = 10_000;

  /** The relay user's password, set on every run (else generated once, see --out). */
  @TextVariable('BROKER_RELAY_PASSWORD')
  readonly relayPassword: string | undefined = undefined;

  /** The console user's password (`aegir dlq:list`), likewise. */
  @TextVariable('BROKER_CONSOLE_PASSWORD')
  readonly consolePassword: string | undefined = undefined;

  /** `pool=password,pool=password`: each pool's dispatcher user's password, likewise. */
  @TextVariable('BROKER_DISPATCHER_PASSWORDS')
  readonly dispatcherPasswords: string | undefined = undefined;
}
