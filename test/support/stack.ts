import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { loadCatalogue } from '@app/catalogue';
import { freeLocalPort } from '@app/platform';
import { createTestVhost, type TestVhost } from './broker';
import { runCli, type CliResult } from './cli';
import { createTestDatabase, type TestDatabase } from './database';
import { createTestKeys, type TestKeys } from './keys';
import { AppProcess, fixtures, type AppName } from './processes';

export { fixtures };

export interface StackOptions {
  /** Prefix of the database and vhost names (default `aegir_e2e`). */
  prefix?: string;
  /** The apps started at once (default relay, dispatcher and api). */
  apps?: Exclude<AppName, 'console'>[];
  catalogueDir?: string;
  playbooksDir?: string;
  /** Extra environment per app. */
  env?: Partial<Record<AppName, NodeJS.ProcessEnv>>;
}

export interface HttpResponse<T = any> {
  status: number;
  body: T;
  headers: IncomingHttpHeaders;
}

export interface RequestOptions {
  /** The bearer token to send: default the stack's admin token; null sends none. */
  token?: string | null;
  /** More request headers (Host, Origin, …). */
  headers?: OutgoingHttpHeaders;
}

/** The api's API_METRICS_TOKEN in every stack. */
const METRICS_TOKEN = 'stack-metrics-token-0123456789abcdef';

/** Only what a process needs from the test's environment: no credentials leak between apps. */
function baseEnv(): NodeJS.ProcessEnv {
  const { PATH, HOME, LANG } = process.env;
  return { PATH, HOME, LANG, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info', NODE_ENV: 'test' };
}

/**
 * The whole system for one test file: its own database and vhost, the broker topology
 * set up by `aegir broker:setup`, and real relay, dispatcher and api processes.
 */
export class Stack {
  readonly apps = new Map<AppName, AppProcess>();
  private client?: Client;
  private readonly agent = new HttpAgent({ keepAlive: true });
  /** An admin token (`aegir token:create --role admin`), sent by `request` unless told otherwise. */
  token = '';

  private constructor(
    readonly db: TestDatabase,
    readonly vhost: TestVhost,
    readonly apiUrl: string,
    /** The dispatcher's DISPATCHER_STATE_DIR and DISPATCHER_WORK_DIR. */
    readonly stateDir: string,
    readonly workDir: string,
    /** The key files of `aegir keys:create`: for the dispatcher's pool and the catalogue's. */
    readonly keys: TestKeys,
    private readonly env: Record<AppName, NodeJS.ProcessEnv>,
  ) {}

  /** Where `aegir broker:setup --out` wrote each broker user's URL. */
  private brokerDir = '';

  /**
   * The AMQP URL of a broker user that `aegir broker:setup` made for this stack: `relay`,
   * `console` or `dispatcher-<pool>`.
   */
  async brokerUrl(role: string): Promise<string> {
    return (await readFile(join(this.brokerDir, `${role}.url`), 'utf8')).trim();
  }

  /** Sets up the vhost's users and topology as the broker's admin, and hands each app its own user. */
  private async setUpBroker(): Promise<void> {
    this.brokerDir = await mkdtemp(join(tmpdir(), 'aegir-e2e-broker-'));
    const result = await this.aegir(['broker:setup', '--out', this.brokerDir], {
      AMQP_URL: this.vhost.url,
      BROKER_ADMIN_URL: this.vhost.adminUrl,
    });
    if (result.code !== 0) throw new Error(`aegir broker:setup failed: ${result.stderr}`);
    this.env.relay.AMQP_URL = await this.brokerUrl('relay');
    this.env.console.AMQP_URL = await this.brokerUrl('console');
    this.env.dispatcher.AMQP_URL = await this.brokerUrl(
      `dispatcher-${this.env.dispatcher.DISPATCHER_POOL ?? 'default'}`,
    );
  }

  static async start(options: StackOptions = {}): Promise<Stack> {
    const db = await createTestDatabase(options.prefix ?? 'aegir_e2e');
    const vhost = await createTestVhost(options.prefix ?? 'aegir_e2e').catch(async (error) => {
      await db.drop().catch(() => undefined); // e.g. the broker is down: leave no database behind
      throw error;
    });
    const port = await freeLocalPort();
    // each relay and dispatcher of every test file on its own port (/metrics, /health/*)
    const relayHttpPort = await freeLocalPort();
    const dispatcherHttpPort = await freeLocalPort();
    const stateDir = await mkdtemp(join(tmpdir(), 'aegir-e2e-state-'));
    const workDir = await mkdtemp(join(tmpdir(), 'aegir-e2e-work-'));
    const catalogue = {
      CATALOGUE_DIR: options.catalogueDir ?? fixtures.catalogueDir,
      PLAYBOOKS_DIR: options.playbooksDir ?? fixtures.playbooksDir,
    };
    const pool = options.env?.dispatcher?.DISPATCHER_POOL ?? 'default';
    const keys = createTestKeys([
      pool,
      ...cataloguePools(catalogue.CATALOGUE_DIR, catalogue.PLAYBOOKS_DIR),
    ]);
    const env: Record<AppName, NodeJS.ProcessEnv> = {
      api: {
        ...baseEnv(),
        ...catalogue,
        DATABASE_URL: db.url,
        API_PORT: String(port),
        ...keys.apiEnv(),
        // tests poll the api hard; the rate limits have a spec of their own
        API_RATE_LIMIT: '1000000',
        API_METRICS_TOKEN: METRICS_TOKEN,
        ...options.env?.api,
      },
      relay: {
        ...baseEnv(),
        DATABASE_URL: db.url,
        AMQP_URL: vhost.url,
        RELAY_OUTBOX_POLL_MS: '500',
        RELAY_HTTP_PORT: String(relayHttpPort),
        ...keys.relayEnv(),
        ...options.env?.relay,
      },
      dispatcher: {
        ...baseEnv(),
        ...catalogue,
        AMQP_URL: vhost.url,
        DISPATCHER_ID: `test-dispatcher-${port}`,
        DISPATCHER_HEARTBEAT_MS: '1000',
        DISPATCHER_KILL_GRACE_MS: '1000',
        DISPATCHER_STATE_DIR: stateDir,
        DISPATCHER_WORK_DIR: workDir,
        DISPATCHER_HTTP_PORT: String(dispatcherHttpPort),
        ...keys.dispatcherEnv(pool),
        ...options.env?.dispatcher,
      },
      console: {
        ...baseEnv(),
        ...catalogue,
        DATABASE_URL: db.url,
        AMQP_URL: vhost.url,
        ...keys.apiEnv(),
        ...options.env?.console,
      },
    };
    const stack = new Stack(
      db,
      vhost,
      `http://127.0.0.1:${port}/api/v1`,
      stateDir,
      workDir,
      keys,
      env,
    );
    try {
      await stack.setUpBroker();
      stack.token = await stack.createToken('stack-admin', 'admin');
      await Promise.all(
        (options.apps ?? ['relay', 'dispatcher', 'api']).map((app) => stack.startApp(app)),
      );
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  envOf(app: AppName): NodeJS.ProcessEnv {
    return this.env[app];
  }

  /** The api's API_METRICS_TOKEN: Prometheus' bearer token for its GET /metrics. */
  readonly metricsToken = METRICS_TOKEN;

  /** Where an app serves /metrics and /health/*: the api's own port, the relay's and dispatcher's HTTP port. */
  httpUrl(app: Exclude<AppName, 'console'>): string {
    const env = this.env[app];
    const port = {
      api: env.API_PORT,
      relay: env.RELAY_HTTP_PORT,
      dispatcher: env.DISPATCHER_HTTP_PORT,
    }[app];
    return `http://127.0.0.1:${port}`;
  }

  /** Starts an app (again); `env` adds to (or, with undefined values, removes from) its environment. */
  async startApp(
    app: Exclude<AppName, 'console'>,
    env: NodeJS.ProcessEnv = {},
  ): Promise<AppProcess> {
    const merged = { ...this.env[app], ...env };
    for (const [name, value] of Object.entries(merged))
      if (value === undefined) delete merged[name];
    const process = new AppProcess(app, merged);
    this.apps.set(app, process);
    await process.waitFor(`${app} ready`);
    return process;
  }

  app(app: AppName): AppProcess {
    const process = this.apps.get(app);
    if (!process) throw new Error(`${app} is not running`);
    return process;
  }

  /** Runs the `aegir` CLI with the stack's console environment (and `env` on top); `input`: its stdin. */
  aegir(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<CliResult> {
    return runCli(args, { ...this.env.console, ...env }, 60_000, input);
  }

  /** `aegir token:create --name NAME --role ROLE [more flags]`; returns the token it printed. */
  async createToken(name: string, role: string, flags: string[] = []): Promise<string> {
    const created = await this.aegir(['token:create', '--name', name, '--role', role, ...flags]);
    const token = created.stdout.trim();
    if (created.code !== 0 || !/^aq_\S+$/.test(token)) {
      throw new Error(`aegir token:create answered ${created.code}: ${created.stderr}`);
    }
    return token;
  }

  /**
   * One api request on a kept-alive connection (node:http: a third of fetch's CPU per call),
   * with the stack's admin token unless `options.token` says another (or null: none).
   * `options.headers` go over the defaults (another content-type; undefined removes one); a
   * Buffer body is sent as is.
   */
  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<HttpResponse<T>> {
    const payload =
      body === undefined
        ? undefined
        : typeof body === 'string' || Buffer.isBuffer(body)
          ? body
          : JSON.stringify(body);
    const token = options.token === undefined ? this.token : options.token;
    const headers: OutgoingHttpHeaders = {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(payload === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
      ...options.headers,
    };
    for (const [name, value] of Object.entries(headers))
      if (value === undefined) delete headers[name];
    return new Promise((resolve, reject) => {
      const sent = httpRequest(
        `${this.apiUrl}${path}`,
        { method, headers, agent: this.agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: response.statusCode ?? 0,
              body: (text ? parseJsonOrText(text) : undefined) as T,
              headers: response.headers,
            });
          });
        },
      );
      sent.on('error', reject);
      sent.end(payload);
    });
  }

  /**
   * Runs SQL on the test's own connection. A connection PostgreSQL dropped (a restart) is
   * replaced and the query tried once more; while PostgreSQL is down this throws.
   */
  async query<T = any>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      return await this.queryOnce<T>(sql, params);
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      await this.dropClient();
      return this.queryOnce<T>(sql, params);
    }
  }

  private async queryOnce<T>(sql: string, params: unknown[]): Promise<T[]> {
    if (!this.client) {
      const client = new Client({ connectionString: this.db.url, application_name: 'aegir-e2e' });
      // A server that goes away emits 'error' on an idle client: without a listener that kills the test.
      client.on('error', () => {
        if (this.client === client) this.client = undefined;
      });
      this.client = client;
      try {
        await client.connect();
      } catch (error) {
        await this.dropClient();
        throw error;
      }
    }
    const result = await this.client.query(sql, params);
    return result.rows as T[];
  }

  private async dropClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** POST /operations; throws unless the api answers 201. Returns the operation. */
  async createOperation(type: string, target: string, params?: object): Promise<any> {
    const response = await this.request('POST', '/operations', { type, target, params });
    if (response.status !== 201) {
      throw new Error(
        `POST /operations ${type} answered ${response.status}: ${JSON.stringify(response.body)}`,
      );
    }
    return response.body;
  }

  /**
   * Polls the database itself (not the api) until the operation's status is one of
   * `statuses`; errors while PostgreSQL is away are waited out. Returns the row.
   */
  async waitForStatus(id: string, statuses: readonly string[], timeoutMs = 60_000): Promise<any> {
    const started = Date.now();
    let last: unknown;
    for (;;) {
      try {
        const [row] = await this.query(`SELECT * FROM operations WHERE id = $1`, [id]);
        last = row?.status;
        if (row && statuses.includes(row.status)) return row;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `operation ${id} not ${statuses.join('|')} after ${timeoutMs} ms (last: ${String(last)})\n` +
            [...this.apps.values()]
              .map((app) => `--- ${app.app}\n${app.text().slice(-20_000)}`)
              .join('\n'),
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Polls the api until the operation is in a terminal status and all its lines are stored. */
  async waitForEnd(id: string, timeoutMs = 60_000): Promise<any> {
    const started = Date.now();
    for (;;) {
      const { status, body } = await this.request('GET', `/operations/${id}`);
      if (status !== 200) throw new Error(`GET /operations/${id} answered ${status}`);
      if (['succeeded', 'failed', 'cancelled', 'timed_out', 'lost'].includes(body.status)) {
        return body;
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `operation ${id} still ${body.status} after ${timeoutMs} ms\n` +
            [...this.apps.values()].map((app) => `--- ${app.app}\n${app.text()}`).join('\n'),
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Every stored line of an operation, in seq order, read from the database itself. */
  async lines(
    id: string,
  ): Promise<{ seq: number; stream: string; line: string; task_id: string | null }[]> {
    const rows = await this.query(
      `SELECT seq, stream, line, task_id FROM log_lines WHERE operation_id = $1 ORDER BY seq`,
      [id],
    );
    return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.apps.values()].map((app) => app.stop()));
    this.agent.destroy();
    this.apps.clear();
    await this.dropClient();
    await this.db.drop().catch(() => undefined);
    await this.vhost.delete().catch(() => undefined);
    if (this.brokerDir) await rm(this.brokerDir, { recursive: true, force: true });
    await rm(this.stateDir, { recursive: true, force: true });
    await rm(this.workDir, { recursive: true, force: true });
    this.keys.remove();
  }
}

/** The pools a catalogue names; none when it does not load (a test of a bad catalogue). */
function cataloguePools(dir: string, playbooksDir: string): string[] {
  try {
    return loadCatalogue({ dir, playbooksDir }).pools();
  } catch {
    return [];
  }
}

/** A response body: JSON as the api sends it, else (an error page of a proxy, a 413) the text. */
function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Errors of the connection rather than of the SQL: the server went away, or is not there. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(08|57P0)/.test(code)) return true;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, …
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|Client has encountered a connection error|not queryable/i.test(
    message,
  );
}
