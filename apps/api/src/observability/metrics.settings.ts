import { MatchingVariable } from '@app/platform';

/** Who may read the api's `/metrics`. */
export class ApiMetricsSettings {
  /**
   * The bearer token Prometheus sends to `GET /metrics` (its `authorization` credentials),
   * at least 32 characters; none (the default): `/metrics` answers 404. A token of its own,
   * not an api token: the scrape needs no database, so it still answers while PostgreSQL
   * is down, which is when the metrics matter, and it can read nothing else.
   */
  @MatchingVariable('API_METRICS_TOKEN', /^(?:[\x21-\x7e]{32,})?$/, {
    rule: 'be at least 32 printable characters without spaces',
  })
  readonly token: string = '';
}
