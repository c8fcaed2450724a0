import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { statusesBefore } from '@app/database';
import type { OperationStatus } from '@app/contracts';
import { Redeliver } from '@app/amqp';
import { DatabaseRetry, isDataError } from './database-retry';
import { RelaySettings } from './relay.settings';

/** Whose an operation is: its pool, and the dispatcher that holds its claim. */
export interface OperationOwner {
  pool: string;
  status: OperationStatus;
  /** `dispatcher_id`: the claim's holder once the operation has been claimed. */
  holder: string | null;
  /** Claimed or ended: pool and holder never change again, so the answer is kept. */
  settled: boolean;
}

/** Statuses before a claim: whoever heartbeats may still be named, nobody holds it. */
const UNCLAIMED: readonly OperationStatus[] = statusesBefore('running');
/** Operations remembered; the oldest are forgotten first (and read again if needed). */
const CAPACITY = 100_000;

/**
 * The owners of the operations events arrive for, read once per operation and kept: once
 * an operation has been claimed its pool and holder are fixed (the claim sets the holder,
 * and only that dispatcher's events are taken afterwards), so the relay's hot path asks
 * PostgreSQL nothing. Reads of the same operation at the same time share one query.
 */
@Injectable()
export class OperationOwners implements BeforeApplicationShutdown {
  private readonly logger = new Logger(OperationOwners.name);
  private readonly known = new Map<string, OperationOwner>();
  private readonly reading = new Map<string, Promise<OperationOwner | undefined>>();
  private readonly retry: DatabaseRetry;

  constructor(
    private readonly dataSource: DataSource,
    config: RelaySettings,
  ) {
    this.retry = new DatabaseRetry(config.databaseRetryMs, this.logger);
  }

  /** The owner kept for an operation, if it is settled: no query. */
  settled(operationId: string): OperationOwner | undefined {
    const owner = this.known.get(operationId);
    return owner?.settled ? owner : undefined;
  }

  /** This relay granted the claim: pool and holder are now fixed. */
  claimed(operationId: string, pool: string, holder: string): void {
    this.keep(operationId, { pool, status: 'running', holder, settled: true });
  }

  /** The owner as kept, else as the database says now; undefined for an unknown operation. */
  read(operationId: string, fresh = true): Promise<OperationOwner | undefined> {
    const kept = this.known.get(operationId);
    if (kept && (kept.settled || !fresh)) return Promise.resolve(kept);
    let reading = this.reading.get(operationId);
    if (!reading) {
      reading = this.retry
        .run('operation owner', () => this.query(operationId), { operationId })
        .catch((error: unknown) => {
          // PostgreSQL was away until the relay began stopping: the message waits for the next
          throw isDataError(error)
            ? error
            : new Redeliver('the relay is stopping before the database answered');
        })
        .finally(() => this.reading.delete(operationId));
      this.reading.set(operationId, reading);
    }
    return reading;
  }

  private async query(operationId: string): Promise<OperationOwner | undefined> {
    const [row] = await this.dataSource.query<
      { pool: string; status: OperationStatus; dispatcher_id: string | null }[]
    >(`SELECT pool, status, dispatcher_id FROM operations WHERE id = $1`, [operationId]);
    if (!row) return undefined;
    const owner: OperationOwner = {
      pool: row.pool,
      status: row.status,
      holder: row.dispatcher_id,
      settled: !UNCLAIMED.includes(row.status),
    };
    this.keep(operationId, owner);
    return owner;
  }

  private keep(operationId: string, owner: OperationOwner): void {
    this.known.delete(operationId);
    if (this.known.size >= CAPACITY) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
    this.known.set(operationId, owner);
  }

  beforeApplicationShutdown(): void {
    this.retry.stop();
  }
}
