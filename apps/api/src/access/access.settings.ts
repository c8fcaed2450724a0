import { IntegerVariable, MatchingVariable } from '@app/platform';

/** `https://app.example.com,http://localhost:5173`: scheme, host and optional port, no path. */
const ORIGIN = String.raw`https?://[A-Za-z0-9.-]+(?::\d{1,5})?`;
const ORIGIN_LIST = new RegExp(`^(?:${ORIGIN}(?:\\s*,\\s*${ORIGIN})*)?$`);
/** `api.example.com,127.0.0.1,[::1]`: host names or addresses, no port. */
const HOST = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]+\])`;
const HOST_LIST = new RegExp(`^(?:${HOST}(?:\\s*,\\s*${HOST})*)?$`);

/** Who may reach the api and how often: rate limits, CORS, allowed Host names. */
export class ApiAccessSettings {
  /** Requests per window for each token. */
  @IntegerVariable('API_RATE_LIMIT', { min: 1 })
  readonly rateLimit: number = 1200;

  /** Requests per window from one remote address without a valid token (401s included). */
  @IntegerVariable('API_RATE_LIMIT_ANONYMOUS', { min: 1 })
  readonly rateLimitAnonymous: number = 60;

  @IntegerVariable('API_RATE_WINDOW_SECONDS', { min: 1 })
  readonly rateWindowSeconds: number = 60;

  /** Refused requests recorded in the audit per remote address and minute; past it, one note. */
  @IntegerVariable('API_AUDIT_REFUSALS_PER_MINUTE', { min: 1 })
  readonly auditRefusalsPerMinute: number = 120;

  /** Origins allowed by CORS, comma-separated; none (the default): no CORS headers at all. */
  @MatchingVariable('API_CORS_ORIGINS', ORIGIN_LIST, {
    rule: 'be a comma-separated list of origins like https://app.example.com (no path, no *)',
  })
  readonly corsOrigins: string = '';

  /**
   * Host names the api answers to, comma-separated (against DNS rebinding); none (the
   * default): any. A request for another Host is answered 421.
   */
  @MatchingVariable('API_ALLOWED_HOSTS', HOST_LIST, {
    rule: 'be a comma-separated list of host names or addresses, without ports',
  })
  readonly allowedHosts: string = '';
}

export const listOf = (text: string): string[] =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
