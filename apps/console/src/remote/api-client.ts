import { redactUrl } from '@app/platform';
import { CliError, describeError } from '../cli-error';
import { ApiClientSettings } from '../live-log/api-client.settings';

/** How long one request may take, connect to last byte, before the command gives up. */
export const API_REQUEST_TIMEOUT_MS = 30_000;

/** A query string's values; undefined ones are left out. */
export type Query = Record<string, string | number | undefined>;

/** The api's JSON refusal: Nest's `{statusCode, error, message}`, message a text or a list. */
interface ErrorAnswer {
  message?: unknown;
  error?: unknown;
}

/**
 * The api (AEGIR_API_URL, which includes `/api/v1`, and AEGIR_API_TOKEN) over node's fetch:
 * every request carries the bearer token and is bounded by API_REQUEST_TIMEOUT_MS; a 4xx or
 * 5xx answer becomes a CliError with the api's own message, worded for people. The token is
 * never part of a message, and the URL only as redactUrl shows it. Any command may use it:
 * `get<T>(path, query)` for a read, `post<T>(path, body)` for a change.
 */
export class ApiClient {
  constructor(
    private readonly settings: ApiClientSettings,
    private readonly timeoutMs = API_REQUEST_TIMEOUT_MS,
  ) {}

  /** AEGIR_API_URL is set: commands go to the api rather than the local database. */
  get configured(): boolean {
    return this.settings.url !== undefined;
  }

  /** The api's base URL without a trailing slash, checked; CliError when unusable. */
  baseUrl(): string {
    const raw = this.settings.url;
    if (raw === undefined) {
      throw new CliError(
        'AEGIR_API_URL is not set: this needs the api (e.g. http://127.0.0.1:3000/api/v1)',
      );
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new CliError(
        `AEGIR_API_URL must be an http(s) URL, got ${JSON.stringify(redactUrl(raw))}`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new CliError(
        `AEGIR_API_URL must be an http(s) URL, got ${JSON.stringify(redactUrl(raw))}`,
      );
    }
    if (url.username || url.password) {
      // fetch refuses them anyway; the token is the api's only credential
      throw new CliError(
        `AEGIR_API_URL must not hold a user or password (${redactUrl(raw)}): the token goes in AEGIR_API_TOKEN`,
      );
    }
    return raw.replace(/\/+$/, '');
  }

  /** The bearer token; CliError when AEGIR_API_URL is set without it. */
  token(): string {
    const token = this.settings.token;
    if (!token) throw new CliError('AEGIR_API_URL is set: AEGIR_API_TOKEN must be too');
    return token;
  }

  /** Where the api is, fit for a message. */
  where(): string {
    return redactUrl(this.baseUrl());
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', path, query);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, {}, body);
  }

  private async request<T>(method: string, path: string, query: Query, body?: unknown): Promise<T> {
    const base = this.baseUrl();
    const token = this.token();
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) search.set(name, String(value));
    }
    const qs = search.size > 0 ? `?${search.toString()}` : '';
    const what = `${method} ${path}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${base}${path}${qs}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        throw new CliError(
          `the api at ${this.where()} did not answer ${what} within ${this.timeoutMs / 1000}s`,
        );
      }
      const cause = (error as { cause?: unknown }).cause;
      // never the URL as sent (query and all) nor anything of the request's headers
      const reason = describeError(cause ?? error)
        .split(base)
        .join(this.where());
      throw new CliError(`cannot reach the api at ${this.where()}: ${reason}`);
    }
    if (response.ok) {
      try {
        return (text ? JSON.parse(text) : undefined) as T;
      } catch {
        throw new CliError(`the api at ${this.where()} answered ${what} with something not JSON`);
      }
    }
    throw apiRefusal(
      response.status,
      text,
      this.where(),
      what,
      response.headers.get('retry-after'),
    );
  }
}

/**
 * The api's refusal worded for people, with its message: for a request, and for the live
 * log's SSE connection alike. `where` is the api fit for a message, `what` the request.
 */
export function apiRefusal(
  status: number,
  body: string,
  where: string,
  what: string,
  retryAfter?: string | null,
): CliError {
  const message = apiMessage(body);
  switch (status) {
    case 401:
      return new CliError(
        `the api refused the token (401 unauthorized): ${message}; check AEGIR_API_TOKEN`,
      );
    case 403:
      return new CliError(`not allowed (403 forbidden): ${message}`);
    case 404:
      // Nest's own 404 for a route it does not have: most likely a base URL without /api/v1
      if (/^Cannot (GET|POST|PUT|DELETE|PATCH) /.test(message)) {
        return new CliError(
          `the api at ${where} has no route ${what} (404): AEGIR_API_URL must be the api's base, e.g. http://127.0.0.1:3000/api/v1`,
        );
      }
      return new CliError(message);
    case 429:
      return new CliError(
        `the api is rate limiting this token (429)${retryAfter ? `: try again in ${retryAfter}s` : ''}`,
      );
    default:
      if (status >= 500)
        return new CliError(`the api at ${where} failed on ${what} (${status}): ${message}`);
      // 400 (naming the field), 409 (already ended, already retried), 413, 415…
      return new CliError(`${message} (${status})`);
  }
}

/** The `message` of the api's JSON error answer (a list joined), else the body as it came. */
export function apiMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as ErrorAnswer;
    if (typeof parsed.message === 'string') return parsed.message;
    if (Array.isArray(parsed.message)) return parsed.message.map(String).join('; ');
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON
  }
  return body.slice(0, 200).trim() || '(no message)';
}
