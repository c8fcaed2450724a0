import { setTimeout as sleep } from 'node:timers/promises';
import { describeCatalogue, PlanError, type CatalogueListing } from '@app/catalogue';
import {
  ConflictError,
  DatabaseSettings,
  LOG_CHANNEL,
  PgListener,
  STATUS_CHANNEL,
  UUID_PATTERN,
  type LogLineView,
  type OperationPage,
  type OperationView,
} from '@app/database';
import { redactUrl, UNSTORABLE_RULE, unstorablePath } from '@app/platform';
import { CliError } from '../cli-error';
import { ConsoleAudit } from '../console-audit';
import { ConsoleCatalogue } from '../console-catalogue';
import { ConsoleDatabase } from '../console-database';
import { ConsoleSealer } from '../console-sealer';
import { LogFollower } from '../live-log/log-follower';
import type { PrintOptions } from '../live-log/log-printer';
import {
  Operations,
  type CreateRequest,
  type ListFilter,
  type Watch,
  type WatchEvent,
} from './operations';

/** The safety net under LISTEN: a notification lost (a reconnect) costs at most this long. */
export const DATABASE_POLL_MS = 5000;

const notFound = (id: string) => new CliError(`operation ${id} not found`);

/**
 * The op:* commands against the local PostgreSQL and catalogue, as before remote mode: the
 * catalogue plans (and refuses, naming the field), secrets are sealed here, and the console
 * writes its own audit rows (actor `console:<os user>`).
 */
export class DatabaseOperations extends Operations {
  constructor(
    private readonly db: ConsoleDatabase,
    private readonly catalogueFiles: ConsoleCatalogue,
    private readonly audit: ConsoleAudit,
    private readonly sealer: ConsoleSealer,
    private readonly follower: LogFollower,
    private readonly settings: DatabaseSettings,
  ) {
    super();
  }

  where(): string {
    return `the database at ${redactUrl(this.settings.url)}`;
  }

  async create(request: CreateRequest): Promise<OperationView> {
    // Checked before connecting: a bad request needs no database to be refused.
    const plan = this.catalogueFiles.get().plan(request);
    // after plan(), which refuses params too deep to walk
    const unstorable = unstorablePath(request);
    if (unstorable) throw new CliError(`${unstorable} ${UNSTORABLE_RULE}`);
    // Secret params are sealed to the pool's key, as the api does: only ciphertext is stored.
    const sealed = await this.sealer.seal(plan);
    const view = await (await this.db.store()).create(sealed, { actor: this.audit.actor });
    await this.audit.ok('operation.create', view.id, { type: view.type, target: view.target });
    return view;
  }

  async list(filter: ListFilter): Promise<OperationPage> {
    return (await this.db.store()).list(filter);
  }

  async get(id: string): Promise<OperationView> {
    const view = await (await this.db.store()).get(id);
    if (!view) throw notFound(id);
    return view;
  }

  async log(id: string, after: number, limit: number): Promise<LogLineView[]> {
    const lines = await (await this.db.store()).logAfter(id, after, limit);
    if (!lines) throw notFound(id);
    return lines;
  }

  async follow(id: string, after: number, print: PrintOptions): Promise<string> {
    return this.follower.fromDatabase(await this.db.store(), id, after, print);
  }

  async cancel(id: string, reason: string | undefined): Promise<OperationView> {
    // A finished operation is a ConflictError: `error: operation <id> is already <status>`.
    const store = await this.db.store();
    const view = await this.auditingRefusal('operation.cancel', id, () =>
      store.cancel(id, reason, this.audit.actor),
    );
    await this.audit.ok('operation.cancel', id, { status: view.status, reason: view.reason });
    return view;
  }

  async retry(id: string): Promise<OperationView> {
    // Planned through the catalogue as it is now, like the api: a type that is gone or
    // params that no longer fit are refused, naming the field; secret ones stay sealed.
    const store = await this.db.store();
    const view = await this.auditingRefusal('operation.retry', id, () =>
      store.retry(id, {
        actor: this.audit.actor,
        plan: (original) =>
          this.catalogueFiles.get().planStored({
            type: original.type,
            target: original.target,
            params: original.params,
          }),
      }),
    );
    await this.audit.ok('operation.retry', id, { retryId: view.id, attempt: view.attempt });
    return view;
  }

  /**
   * Runs a change; when it is refused (an unknown id, a ConflictError, params the catalogue
   * no longer takes) the refusal goes in the audit as the api's 4xx do, then is thrown.
   */
  private async auditingRefusal<T>(
    action: string,
    id: string,
    change: () => Promise<T | null>,
  ): Promise<T> {
    let done: T | null;
    try {
      done = await change();
    } catch (error) {
      if (error instanceof ConflictError || error instanceof PlanError) {
        await this.audit.refused(action, id, error.message);
      }
      throw error;
    }
    if (done === null) {
      await this.audit.refused(
        action,
        UUID_PATTERN.test(id) ? id : null,
        `operation ${id} not found`,
      );
      throw notFound(id);
    }
    return done;
  }

  catalogue(): Promise<CatalogueListing> {
    return Promise.resolve(describeCatalogue(this.catalogueFiles.get()));
  }

  /**
   * LISTENs on aegir_status (and aegir_log for the progress line) on a connection of its own,
   * woken only for this operation's id, and polls every DATABASE_POLL_MS as a safety net.
   */
  async watch(id: string, options: { lines: boolean }): Promise<Watch> {
    const ds = await this.db.dataSource();
    let pending: WatchEvent | undefined = 'status';
    let wake: (() => void) | undefined;
    const channels = options.lines ? [STATUS_CHANNEL, LOG_CHANNEL] : [STATUS_CHANNEL];
    const listener = new PgListener(
      this.settings.url,
      channels,
      (channel, payload) => {
        // undefined: (re)connected, anything may have changed meanwhile
        if (channel !== undefined && payload !== id) return;
        if (channel === LOG_CHANNEL) pending ??= 'lines';
        else pending = 'status';
        wake?.();
      },
      'aegir-console-wait',
    );
    await listener.start();
    return {
      pollMs: DATABASE_POLL_MS,
      next: async (ms) => {
        if (pending === undefined) {
          const abort = new AbortController();
          const woken = new Promise<void>((resolve) => (wake = resolve));
          await Promise.race([
            woken,
            sleep(Math.min(ms, DATABASE_POLL_MS), undefined, { signal: abort.signal }).catch(
              () => undefined,
            ),
          ]);
          abort.abort();
          wake = undefined;
        }
        const event = pending ?? 'idle';
        pending = undefined;
        return event;
      },
      linesStored: async () => {
        const [row]: { n: number }[] = await ds.query(
          `SELECT count(*)::int AS n FROM log_lines WHERE operation_id = $1`,
          [id],
        );
        return row?.n ?? 0;
      },
      close: () => listener.stop(),
    };
  }
}
