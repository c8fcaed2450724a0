import { MatchingVariable, PortVariable } from '@app/platform';

/** Where the api listens. */
export class ApiSettings {
  @PortVariable('API_PORT')
  readonly port: number = 3000;

  /** An empty value is refused, not taken for the default. */
  @MatchingVariable('API_HOST', /\S/, { rule: 'not be empty', emptyIsValue: true })
  readonly host: string = '127.0.0.1';
}
