import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { AmqpChannels, countDeadLetters } from '@app/amqp';
import type { SingleEvent } from '@app/contracts';
import type { EndedOperation, LostOperation, StartedOperation } from '@app/database';
import { isLineMessage, lineCount } from './log-lines';
import { RelaySettings } from './relay.settings';

/** Seconds: from a few milliseconds (a batch, a line) to minutes (a queue that waited). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000];
/** How long one outbox sample serves the scrapes that ask at once. */
const OUTBOX_SAMPLE_MS = 1000;
/** A scrape does not wait longer than this for PostgreSQL. */
const OUTBOX_SAMPLE_TIMEOUT_MS = 2000;

interface OutboxSample {
  backlog: number;
  oldestSeconds: number;
}

/**
 * The relay's metrics. Everything on the events path is observed once per batch (a batch is
 * up to RELAY_EVENTS_BATCH messages, each of up to thousands of lines), never per line; the
 * outbox gauges and busy lanes are read only when Prometheus scrapes.
 */
@Injectable()
export class RelayMetrics {
  private readonly linesIngested: Counter;
  private readonly batchSize: Histogram;
  private readonly batchCommit: Histogram;
  private readonly eventLag: Histogram;
  private readonly ended: Counter<'type' | 'status'>;
  private readonly startLatency: Histogram<'type'>;
  private busyLanes = 0;
  private outboxSample?: { at: number; sample: Promise<OutboxSample> };

  constructor(
    registry: Registry,
    dataSource: DataSource,
    amqp: AmqpChannels,
    config: RelaySettings,
  ) {
    const registers = [registry];
    this.linesIngested = new Counter({
      name: 'aegir_log_lines_ingested_total',
      help: 'Log lines committed to PostgreSQL by this relay',
      registers,
    });
    this.batchSize = new Histogram({
      name: 'aegir_event_batch_size',
      help: 'Events (messages) written per events batch',
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    this.batchCommit = new Histogram({
      name: 'aegir_event_batch_commit_seconds',
      help: 'Time to write and commit one events batch (with its retries while PostgreSQL is away)',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.eventLag = new Histogram({
      name: 'aegir_event_lag_seconds',
      help: "From a lines message's first line (the dispatcher's clock) to its commit (the relay's)",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.ended = new Counter({
      name: 'aegir_operations_ended_total',
      help: 'Operations this app moved to a terminal status, by type and status',
      labelNames: ['type', 'status'],
      registers,
    });
    this.startLatency = new Histogram({
      name: 'aegir_operation_start_latency_seconds',
      help: 'From an operation created to its claim granted (running), by type',
      labelNames: ['type'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const lanes = config.eventsLanes;
    new Gauge({
      name: 'aegir_event_lanes',
      help: 'Lanes that write events batches (RELAY_EVENTS_LANES)',
      registers,
      collect() {
        this.set(lanes);
      },
    });
    const busy = () => this.busyLanes;
    new Gauge({
      name: 'aegir_event_lanes_busy',
      help: 'Lanes writing a batch right now',
      registers,
      collect() {
        this.set(busy());
      },
    });
    const outbox = () => this.sampleOutbox(dataSource);
    new Gauge({
      name: 'aegir_outbox_backlog',
      help: 'Outbox rows not yet published (dispatches and cancels waiting for the broker)',
      registers,
      async collect() {
        const sample = await outbox();
        this.set(sample.backlog);
      },
    });
    new Gauge({
      name: 'aegir_outbox_oldest_age_seconds',
      help: 'Age of the oldest outbox row not yet published; 0 when none waits',
      registers,
      async collect() {
        const sample = await outbox();
        this.set(sample.oldestSeconds);
      },
    });
    countDeadLetters(registry, amqp);
  }

  /** A lane starts writing a batch; call what it returns when the write is over. */
  batchStarted(): () => void {
    this.busyLanes++;
    const started = performance.now();
    let over = false;
    return () => {
      if (over) return;
      over = true;
      this.busyLanes--;
      this.batchCommit.observe((performance.now() - started) / 1000);
    };
  }

  /** A batch committed: its size, its lines, their lag and the operations it ended. */
  batchCommitted(events: readonly SingleEvent[], messages: number, ended: EndedOperation[]): void {
    this.batchSize.observe(messages);
    const now = Date.now();
    let lines = 0;
    for (const event of events) {
      if (!isLineMessage(event)) continue;
      lines += lineCount(event);
      const at = event.kind === 'lines' ? event.at : event.lines[0]?.at;
      const emitted = at === undefined ? NaN : Date.parse(at);
      if (Number.isFinite(emitted)) this.eventLag.observe(Math.max(0, (now - emitted) / 1000));
    }
    if (lines > 0) this.linesIngested.inc(lines);
    for (const { type, status } of ended) this.ended.inc({ type, status });
  }

  started({ type, waitedSeconds }: StartedOperation): void {
    this.startLatency.observe({ type }, Math.max(0, waitedSeconds));
  }

  lost(operations: readonly LostOperation[]): void {
    for (const { type } of operations) this.ended.inc({ type, status: 'lost' });
  }

  /**
   * One query for both outbox gauges (the partial index on unpublished rows keeps it small).
   * While PostgreSQL does not answer the scrape still succeeds, the gauges reading NaN.
   */
  private sampleOutbox(dataSource: DataSource): Promise<OutboxSample> {
    const now = Date.now();
    if (this.outboxSample && now - this.outboxSample.at < OUTBOX_SAMPLE_MS) {
      return this.outboxSample.sample;
    }
    const query = dataSource.query<{ backlog: number; oldest: number }[]>(
      `SELECT count(*)::int AS backlog,
              COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest
         FROM outbox WHERE published_at IS NULL`,
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error('no answer')), OUTBOX_SAMPLE_TIMEOUT_MS);
    });
    const sample = Promise.race([query, timeout])
      .finally(() => clearTimeout(timer))
      .then(
        ([row]) => ({ backlog: row.backlog, oldestSeconds: row.oldest }),
        () => ({ backlog: NaN, oldestSeconds: NaN }),
      );
    this.outboxSample = { at: now, sample };
    return sample;
  }
}
