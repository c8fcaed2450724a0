import { TextVariable } from '@app/platform';

/** The api the CLI follows a live log through (`op:log -f`, `op:create --follow`), when set. */
export class ApiClientSettings {
  /** The api's base URL, e.g. `http://127.0.0.1:3000/api/v1`. */
  @TextVariable('AEGIR_API_URL')
  readonly url: string | undefined = undefined;

  /** A token of role viewer or above (`aegir token:create`). */
  @TextVariable('AEGIR_API_TOKEN')
  readonly token: string | undefined = undefined;
}
