import { TextVariable } from '@app/platform';

export class DemoSettings {
  /** The port for the api the demo starts (a free one when unset); the api checks it. */
  @TextVariable('API_PORT')
  readonly apiPort: string | undefined = undefined;
}
