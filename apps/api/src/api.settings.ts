import { MatchingVariable, OneOfVariable, PathVariable, PortVariable } from '@app/platform';

/** Where the api listens, the keys it seals secret parameters with, whether it serves its docs. */
export class ApiSettings {
  @PortVariable('API_PORT')
  readonly port: number = 3000;

  /** An empty value is refused, not taken for the default. */
  @MatchingVariable('API_HOST', /\S/, { rule: 'not be empty', emptyIsValue: true })
  readonly host: string = '127.0.0.1';

  /**
   * The public sealing keys of `aegir keys:create` (`sealing-<pool>.pub`). Required when a
   * catalogue type has a secret parameter: its value is sealed to the pool's key.
   */
  @PathVariable('API_SEALING_KEYS_DIR')
  readonly sealingKeysDir: string | undefined = undefined;

  /** `on`: Swagger UI at /api/docs and the OpenAPI document at /api/docs-json, without a token. */
  @OneOfVariable('API_DOCS', ['on', 'off'])
  readonly docs: 'on' | 'off' = 'on';
}
