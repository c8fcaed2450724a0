import type { BrokerPermissions, ExchangeSpec, QueueSpec } from '@app/contracts';
import { redactUrl } from '@app/platform';

/** What `aegir broker:setup` asks of RabbitMQ's administration; one implementation talks HTTP. */
export abstract class BrokerAdmin {
  /** The admin user's name (it is given full rights on a vhost it has none on). */
  abstract readonly user: string;
  abstract ensureVhost(vhost: string): Promise<void>;
  abstract hasPermissions(vhost: string, user: string): Promise<boolean>;
  abstract userExists(user: string): Promise<boolean>;
  /** Creates the user, or sets its password; no tags (no management access). */
  abstract putUser(user: string, password: string): Promise<void>;
  abstract setPermissions(
    vhost: string,
    user: string,
    permissions: BrokerPermissions,
  ): Promise<void>;
  abstract declareExchange(vhost: string, exchange: ExchangeSpec): Promise<void>;
  abstract declareQueue(vhost: string, queue: Omit<QueueSpec, 'bindings'>): Promise<void>;
  abstract bind(vhost: string, exchange: string, queue: string, routingKey: string): Promise<void>;
}

/** The HTTP call the management API client makes: `fetch` in production, a fake in a spec. */
export type HttpCall = (url: string, init: RequestInit) => Promise<Response>;

export class BrokerAdminError extends Error {
  override readonly name = 'BrokerAdminError';
}

/**
 * RabbitMQ's management HTTP API (`rabbitmq_management`), authenticated as the admin user
 * of `adminUrl` (`http://user:password@host:15672`). Every request is bounded by
 * `timeoutMs`; an error names the request and the broker's reason, never the password.
 */
export class ManagementApi extends BrokerAdmin {
  readonly user: string;
  private readonly base: string;
  private readonly authorization: string;

  constructor(
    private readonly adminUrl: string,
    private readonly timeoutMs = 10_000,
    private readonly call: HttpCall = (url, init) => fetch(url, init),
  ) {
    super();
    const parsed = new URL(adminUrl);
    this.user = decodeURIComponent(parsed.username) || 'guest';
    const password = parsed.username ? decodeURIComponent(parsed.password) : 'guest';
    this.authorization = `Basic ${Buffer.from(`${this.user}:${password}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
    this.base = parsed.toString().replace(/\/+$/, '');
  }

  async ensureVhost(vhost: string): Promise<void> {
    await this.request('PUT', `/api/vhosts/${enc(vhost)}`, {});
  }

  async hasPermissions(vhost: string, user: string): Promise<boolean> {
    return (await this.request('GET', `/api/permissions/${enc(vhost)}/${enc(user)}`)) !== 404;
  }

  async userExists(user: string): Promise<boolean> {
    return (await this.request('GET', `/api/users/${enc(user)}`)) !== 404;
  }

  async putUser(user: string, password: string): Promise<void> {
    await this.request('PUT', `/api/users/${enc(user)}`, { password, tags: '' });
  }

  async setPermissions(vhost: string, user: string, permissions: BrokerPermissions) {
    await this.request('PUT', `/api/permissions/${enc(vhost)}/${enc(user)}`, permissions);
  }

  async declareExchange(vhost: string, exchange: ExchangeSpec): Promise<void> {
    await this.request('PUT', `/api/exchanges/${enc(vhost)}/${enc(exchange.name)}`, {
      type: exchange.type,
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    });
  }

  async declareQueue(vhost: string, queue: Omit<QueueSpec, 'bindings'>): Promise<void> {
    await this.request('PUT', `/api/queues/${enc(vhost)}/${enc(queue.name)}`, {
      durable: true,
      auto_delete: false,
      arguments: queue.arguments,
    });
  }

  async bind(vhost: string, exchange: string, queue: string, routingKey: string) {
    await this.request('POST', `/api/bindings/${enc(vhost)}/e/${enc(exchange)}/q/${enc(queue)}`, {
      routing_key: routingKey,
      arguments: {},
    });
  }

  /** The response's status; 404 is an answer for GET, any other failure an error. */
  private async request(method: string, path: string, body?: object): Promise<number> {
    let response: Response;
    try {
      response = await this.call(`${this.base}${path}`, {
        method,
        headers: {
          authorization: this.authorization,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause =
        (error as Error).name === 'TimeoutError'
          ? `no answer within ${this.timeoutMs} ms`
          : describe(error);
      throw new BrokerAdminError(
        `cannot reach the RabbitMQ management API at ${redactUrl(this.adminUrl)}: ${cause} ` +
          '(is the rabbitmq_management plugin enabled? aegir setup:local enables it)',
      );
    }
    const text = await response.text().catch(() => '');
    if (response.ok || (method === 'GET' && response.status === 404)) return response.status;
    throw new BrokerAdminError(
      `RabbitMQ management API: ${method} ${decodeURIComponent(path)} answered ${response.status}` +
        `${reasonOf(text)}`,
    );
  }
}

const enc = (part: string): string => encodeURIComponent(part);

function reasonOf(text: string): string {
  try {
    const { reason } = JSON.parse(text) as { reason?: unknown };
    return typeof reason === 'string' ? `: ${reason}` : '';
  } catch {
    return '';
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const message = error instanceof Error ? error.message : String(error);
  return cause instanceof Error ? `${message} (${cause.message})` : message;
}
