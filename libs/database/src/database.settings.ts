import { IntegerVariable, TextVariable } from '@app/platform';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/aegir';

/** PostgreSQL, for every app that holds its credentials (api, relay, console). */
export class DatabaseSettings {
  @TextVariable('DATABASE_URL')
  readonly url: string = DEFAULT_DATABASE_URL;

  /** Connections per process. */
  @IntegerVariable('DATABASE_POOL_SIZE', { min: 1 })
  readonly poolSize: number = 10;

  /** Start-up connection attempts, a second apart. */
  @IntegerVariable('DATABASE_CONNECT_RETRIES', { min: 0 })
  readonly connectRetries: number = 5;
}
