import { Injectable } from '@nestjs/common';
import { AmqpSettings, userOfUrl } from '@app/amqp';
import { CatalogueSettings, type Catalogue } from '@app/catalogue';
import {
  brokerTopology,
  Queues,
  TERMINAL_STATUSES,
  vhostOfUrl,
  type OperationStatus,
} from '@app/contracts';
import { AuditLog, ConflictError, DatabaseSettings } from '@app/database';
import { redactUrl } from '@app/platform';
import { connect, type Channel } from 'amqplib';
import type { DataSource } from 'typeorm';
import { describeError } from '../cli-error';
import { consoleActor } from '../console-audit';
import { ConsoleCatalogue } from '../console-catalogue';
import { ConsoleDatabase } from '../console-database';
import { ConsoleSealer } from '../console-sealer';

/** The catalogue type of the end-to-end probe (catalogue/aegir.probe.yml). */
export const PROBE_TYPE = 'aegir.probe';
/** Its target: the probe acts on nothing, the name only says who asked. */
export const PROBE_TARGET = 'doctor';
/** The one line aegir.probe prints: doctor waits for exactly this text in log_lines. */
export const PROBE_LINE = 'aegir.probe: the queue works';
/** The most a single check (database, broker) may take, whatever the overall --timeout. */
export const CHECK_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

export type CheckName = 'database' | 'broker' | 'catalogue' | 'probe';

/** One line of the report: a check, or one hop of the probe. */
export interface CheckLine {
  check: CheckName;
  /** `ok`, `FAIL`, or `skip` (a check that could not run because an earlier one failed). */
  outcome: 'ok' | 'FAIL' | 'skip';
  detail: string;
  /** How long this step took. */
  ms: number;
}

class StepTimeout extends Error {}

/** `work` within `ms`, else a StepTimeout saying what did not answer. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StepTimeout(`${what} did not answer within ${ms} ms`)),
      Math.max(ms, 0),
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Where the probe stands, read in one query. */
interface ProbeState {
  status: OperationStatus;
  reason: string | null;
  dispatcher_id: string | null;
  published: boolean;
  last_error: string | null;
  task_status: OperationStatus | null;
  line_stored: boolean;
  /**
   * When each hop happened, in ms after the operation was created, by the database's clock
   * (null until it has): published_at, started_at (the claim), the task's started_at, the
   * line's stored_at, finished_at.
   */
  at: (number | null)[];
}

/** The hops of the probe, in order: each names what must have happened, and who to ask if not. */
const HOPS: {
  /** What the probe waits for before this hop, for the progress line. */
  waiting: string;
  reached: (state: ProbeState) => boolean;
  ok: (state: ProbeState, pool: string) => string;
  stuck: (state: ProbeState, pool: string) => string;
}[] = [
  {
    waiting: 'the relay to publish it',
    reached: (s) => s.published || s.dispatcher_id !== null,
    ok: (_s, pool) => `published by the relay to ${Queues.dispatch(pool)}`,
    stuck: (s) =>
      `the relay has not published it: is aegir-relay running?${s.last_error ? ` (its last attempt: ${s.last_error})` : ''}`,
  },
  {
    waiting: 'a dispatcher to claim it',
    reached: (s) => s.dispatcher_id !== null,
    ok: (s) => `claim granted to dispatcher ${s.dispatcher_id}`,
    stuck: (_s, pool) =>
      `no dispatcher of pool ${pool} claimed it: is a dispatcher of pool ${pool} running (and the relay, which answers claims)?`,
  },
  {
    waiting: 'its task to start',
    reached: (s) => s.task_status !== null && s.task_status !== 'queued',
    ok: () => 'its task is running',
    stuck: (s) =>
      `dispatcher ${s.dispatcher_id} claimed it, but no task status has come back: is the relay storing events?`,
  },
  {
    waiting: 'its line to be stored',
    reached: (s) => s.line_stored,
    ok: () => `its line is stored: "${PROBE_LINE}"`,
    stuck: (s) =>
      `its task started on dispatcher ${s.dispatcher_id}, but its line is not stored: is the relay storing events?`,
  },
  {
    waiting: 'it to succeed',
    reached: (s) => s.status === 'succeeded',
    ok: () => 'succeeded',
    stuck: () => 'its line is stored, but it has not ended yet',
  },
];

/**
 * `aegir doctor`: the database, the broker, the catalogue, then one real operation of
 * aegir.probe followed hop by hop. Every step is bounded: the whole run by `timeoutMs`,
 * a database or broker check also by CHECK_TIMEOUT_MS.
 */
@Injectable()
export class Doctor {
  constructor(
    private readonly db: ConsoleDatabase,
    private readonly catalogue: ConsoleCatalogue,
    private readonly sealer: ConsoleSealer,
    private readonly amqp: AmqpSettings,
    private readonly database: DatabaseSettings,
    private readonly catalogueSettings: CatalogueSettings,
  ) {}

  /** What the probe waits for now, and since when (for a progress line); unset otherwise. */
  waitingFor?: { what: string; since: number };

  /** The actor of the probe: `doctor:<os user>`, in created_by and the audit. */
  readonly actor = consoleActor().replace(/^console:/, 'doctor:');

  async *run(timeoutMs: number): AsyncGenerator<CheckLine> {
    const deadline = Date.now() + timeoutMs;
    const budget = () => Math.min(CHECK_TIMEOUT_MS, deadline - Date.now());

    const database = await this.step('database', () => this.checkDatabase(budget()));
    yield database.line;

    // the broker's pool queues come from the catalogue: loaded first, reported third
    const catalogue = this.loadCatalogue();
    yield (await this.step('broker', () => this.checkBroker(budget(), catalogue.pools))).line;
    yield catalogue.line;

    if (database.line.outcome !== 'ok' || !database.value || !catalogue.value) {
      yield {
        check: 'probe',
        outcome: 'skip',
        detail: `not run: it needs the ${database.line.outcome !== 'ok' ? 'database' : `catalogue's ${PROBE_TYPE} type`}`,
        ms: 0,
      };
      return;
    }
    yield* this.probe(database.value, catalogue.value, deadline);
  }

  /** Runs one check, timing it; an error is its FAIL line. */
  private async step<T>(
    check: CheckName,
    work: () => Promise<{ detail: string; value: T; failed?: boolean }>,
  ): Promise<{ line: CheckLine; value?: T }> {
    const started = Date.now();
    try {
      const { detail, value, failed } = await work();
      return {
        line: { check, outcome: failed ? 'FAIL' : 'ok', detail, ms: Date.now() - started },
        value,
      };
    } catch (error) {
      return {
        line: { check, outcome: 'FAIL', detail: describeError(error), ms: Date.now() - started },
      };
    }
  }

  private async checkDatabase(ms: number): Promise<{ detail: string; value: DataSource }> {
    const where = `PostgreSQL at ${redactUrl(this.database.url)}`;
    const ds = await within(ms, where, this.db.dataSource());
    const known = ds.migrations.map((m) => m.name ?? m.constructor.name);
    const table = ds.options.migrationsTableName ?? 'migrations';
    const [{ present }] = await within<{ present: boolean }[]>(
      ms,
      where,
      ds.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [table]),
    );
    const applied = present
      ? (await within<{ name: string }[]>(ms, where, ds.query(`SELECT name FROM "${table}"`))).map(
          (row) => row.name,
        )
      : [];
    const pending = known.filter((name) => !applied.includes(name));
    if (pending.length > 0) {
      throw new Error(
        `${where}: ${plural(pending.length, 'migration')} not applied (${pending.join(', ')}): run aegir db:migrate`,
      );
    }
    return { detail: `${where}: all ${plural(known.length, 'migration')} applied`, value: ds };
  }

  private loadCatalogue(): {
    line: CheckLine;
    pools: string[];
    value?: Catalogue;
  } {
    const started = Date.now();
    const line = (outcome: CheckLine['outcome'], detail: string): CheckLine => ({
      check: 'catalogue',
      outcome,
      detail,
      ms: Date.now() - started,
    });
    let catalogue: Catalogue;
    try {
      catalogue = this.catalogue.get();
    } catch (error) {
      return { line: line('FAIL', describeError(error)), pools: [] };
    }
    const types = catalogue.types().length;
    const pools = catalogue.pools();
    const where = `${plural(types, 'type')} in ${this.catalogueSettings.dir} (${plural(pools.length, 'pool')}: ${pools.join(', ')})`;
    if (!catalogue.get(PROBE_TYPE)) {
      return {
        line: line(
          'FAIL',
          `${where}, but no ${PROBE_TYPE} type: the probe needs it (copy catalogue/${PROBE_TYPE}.yml)`,
        ),
        pools,
      };
    }
    return { line: line('ok', where), pools, value: catalogue };
  }

  /** Connects as the console's user; checks the topology and who consumes its work queues. */
  private async checkBroker(
    ms: number,
    pools: string[],
  ): Promise<{ detail: string; value: null; failed?: boolean }> {
    const where = `RabbitMQ at ${redactUrl(this.amqp.url)}`;
    const url = new URL(this.amqp.url);
    const vhost = vhostOfUrl(this.amqp.url);
    const shortly = `RabbitMQ ${url.host}, vhost ${vhost}, as ${userOfUrl(this.amqp.url)}`;
    const connection = await within(
      ms,
      where,
      connect(this.amqp.url, {
        clientProperties: { connection_name: 'aegir-console doctor' },
        timeout: ms,
      }),
    ).catch((error: unknown) => {
      throw new Error(
        error instanceof StepTimeout
          ? error.message
          : `cannot reach ${where}: ${describeError(error)}`,
      );
    });
    connection.on('error', () => undefined);
    try {
      const topology = brokerTopology(pools);
      // a missing name closes the channel: one channel per check keeps the next one working
      const passive = async <T>(what: string, name: string, check: (c: Channel) => Promise<T>) => {
        const channel = await within(ms, where, connection.createChannel());
        channel.on('error', () => undefined);
        try {
          return await within(ms, where, check(channel));
        } catch (error) {
          if (error instanceof StepTimeout) throw error;
          throw new Error(`${what} ${name} is missing on ${where}: run aegir broker:setup`);
        } finally {
          await channel.close().catch(() => undefined);
        }
      };
      for (const exchange of topology.exchanges) {
        await passive('exchange', exchange.name, (c) => c.checkExchange(exchange.name));
      }
      const consumers = new Map<string, number>();
      for (const queue of topology.queues) {
        const state = await passive('queue', queue.name, (c) => c.checkQueue(queue.name));
        consumers.set(queue.name, state.consumerCount);
      }
      const problems: string[] = [];
      for (const queue of [Queues.events, Queues.claims]) {
        if (!consumers.get(queue))
          problems.push(`nobody consumes ${queue}: is aegir-relay running?`);
      }
      for (const pool of [...new Set(pools)].sort()) {
        if (!consumers.get(Queues.dispatch(pool))) {
          problems.push(
            `nobody consumes ${Queues.dispatch(pool)}: is a dispatcher of pool ${pool} running?`,
          );
        }
      }
      const counts = [Queues.events, Queues.claims, ...pools.map(Queues.dispatch)]
        .map((queue) => `${queue} ${consumers.get(queue) ?? 0}`)
        .join(', ');
      const summary = `${shortly}: ${plural(topology.exchanges.length, 'exchange')} and ${plural(topology.queues.length, 'queue')} there; consumers: ${counts}`;
      if (problems.length > 0) {
        return { detail: `${problems.join('; ')} (${summary})`, value: null, failed: true };
      }
      return { detail: summary, value: null };
    } finally {
      await connection.close().catch(() => undefined);
    }
  }

  /**
   * Creates one aegir.probe operation as `aegir op:create` does (plan, seal, the store's
   * create: operation, task and outbox row in one statement) and follows it hop by hop until
   * it succeeds, ends otherwise, or the deadline passes; then the hop it is stuck at is the
   * FAIL line and the probe is cancelled, so that it does not run later by surprise.
   */
  private async *probe(
    ds: DataSource,
    catalogue: Catalogue,
    deadline: number,
  ): AsyncGenerator<CheckLine> {
    let started = Date.now();
    const line = (outcome: CheckLine['outcome'], detail: string): CheckLine => {
      const now = Date.now();
      const entry: CheckLine = { check: 'probe', outcome, detail, ms: now - started };
      started = now;
      return entry;
    };
    const remaining = () => deadline - Date.now();
    let id: string;
    let pool: string;
    try {
      const plan = catalogue.plan({ type: PROBE_TYPE, target: PROBE_TARGET, params: {} });
      const sealed = await this.sealer.seal(plan);
      const store = await this.db.store();
      const view = await within(
        Math.min(remaining(), CHECK_TIMEOUT_MS),
        'PostgreSQL',
        store.create(sealed, { actor: this.actor }),
      );
      ({ id, pool } = { id: view.id, pool: catalogue.get(PROBE_TYPE)!.pool });
      await new AuditLog(ds).record({
        actor: this.actor,
        action: 'operation.create',
        outcome: 'ok',
        operationId: id,
        source: 'console',
        detail: { type: view.type, target: view.target },
      });
    } catch (error) {
      yield line('FAIL', `could not create the probe: ${describeError(error)}`);
      return;
    }
    yield line('ok', `operation ${id} created (${PROBE_TYPE} on ${PROBE_TARGET}, pool ${pool})`);

    this.waitingFor = { what: HOPS[0].waiting, since: Date.now() };
    try {
      yield* this.follow(ds, id, pool, deadline, line);
    } finally {
      this.waitingFor = undefined;
    }
  }

  /** The hops of the probe `id`, each line as it is reached, until the end or the deadline. */
  private async *follow(
    ds: DataSource,
    id: string,
    pool: string,
    deadline: number,
    line: (outcome: CheckLine['outcome'], detail: string) => CheckLine,
  ): AsyncGenerator<CheckLine> {
    const remaining = () => deadline - Date.now();
    let hop = 0;
    let state: ProbeState | undefined;
    let since = Date.now();
    for (;;) {
      try {
        // one read may outlast the deadline a little: a slow answer is not a hop stuck
        const bound = Math.min(CHECK_TIMEOUT_MS, Math.max(remaining(), 2000));
        state = await within(bound, 'PostgreSQL', this.readProbe(ds, id));
      } catch (error) {
        yield line('FAIL', `could not read the probe ${id}: ${describeError(error)}`);
        await this.cancelProbe(id, 'doctor could not follow it');
        return;
      }
      while (hop < HOPS.length && HOPS[hop].reached(state)) {
        // how long this hop took: from the one before, by the database's timestamps
        const at = state.at[hop];
        const before = hop === 0 ? 0 : (state.at[hop - 1] ?? 0);
        const entry = line('ok', HOPS[hop].ok(state, pool));
        if (at !== null) entry.ms = Math.max(0, Math.round(at - before));
        yield entry;
        hop++;
        since = Date.now();
        if (hop < HOPS.length) this.waitingFor = { what: HOPS[hop].waiting, since };
      }
      if (hop === HOPS.length) return;
      if ((TERMINAL_STATUSES as readonly string[]).includes(state.status)) {
        yield line(
          'FAIL',
          `the probe ${id} ended ${state.status}${state.reason ? `: ${state.reason}` : ''}`,
        );
        return;
      }
      if (remaining() <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, remaining())));
    }
    const stuck = HOPS[hop].stuck(state, pool);
    this.waitingFor = undefined;
    yield line('FAIL', `stuck after ${Date.now() - since} ms: ${stuck} (operation ${id})`);
    await this.cancelProbe(id, `doctor gave up waiting: ${stuck}`);
  }

  private async readProbe(ds: DataSource, id: string): Promise<ProbeState> {
    const [row] = await ds.query<(Omit<ProbeState, 'at'> & Record<string, number | null>)[]>(
      `WITH hops AS (
         SELECT (SELECT max(b.published_at) FROM outbox b
                  WHERE b.operation_id = o.id AND b.kind = 'dispatch') AS published_at,
                o.started_at,
                (SELECT t.started_at FROM tasks t WHERE t.operation_id = o.id ORDER BY t.position LIMIT 1) AS task_started_at,
                (SELECT min(l.stored_at) FROM log_lines l WHERE l.operation_id = o.id AND l.line = $2) AS line_stored_at,
                o.finished_at, o.created_at
           FROM operations o WHERE o.id = $1)
       SELECT o.status, o.reason, o.dispatcher_id,
              extract(epoch FROM h.published_at - h.created_at) * 1000 AS at0,
              extract(epoch FROM h.started_at - h.created_at) * 1000 AS at1,
              extract(epoch FROM h.task_started_at - h.created_at) * 1000 AS at2,
              extract(epoch FROM h.line_stored_at - h.created_at) * 1000 AS at3,
              extract(epoch FROM h.finished_at - h.created_at) * 1000 AS at4,
              EXISTS (SELECT 1 FROM outbox b WHERE b.operation_id = o.id AND b.kind = 'dispatch'
                                            AND b.published_at IS NOT NULL) AS published,
              (SELECT b.last_error FROM outbox b WHERE b.operation_id = o.id AND b.kind = 'dispatch'
                ORDER BY b.id DESC LIMIT 1) AS last_error,
              (SELECT t.status FROM tasks t WHERE t.operation_id = o.id ORDER BY t.position LIMIT 1) AS task_status,
              EXISTS (SELECT 1 FROM log_lines l WHERE l.operation_id = o.id AND l.line = $2) AS line_stored
         FROM operations o, hops h WHERE o.id = $1`,
      [id, PROBE_LINE],
    );
    if (!row) throw new Error('the operation is gone');
    const number = (value: unknown) => (value === null ? null : Number(value));
    return { ...row, at: [row.at0, row.at1, row.at2, row.at3, row.at4].map(number) };
  }

  /** A probe given up on is cancelled (it stays in the history, cancelled by doctor). */
  private async cancelProbe(id: string, reason: string): Promise<void> {
    try {
      const store = await this.db.store();
      await within(
        CHECK_TIMEOUT_MS,
        'PostgreSQL',
        store.cancel(id, reason.slice(0, 500), this.actor),
      );
    } catch (error) {
      if (!(error instanceof ConflictError)) return; // the report already names what is wrong
    }
  }
}
