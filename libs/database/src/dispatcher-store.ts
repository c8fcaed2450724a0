import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * `alive`: heard from within the silence horizon (RELAY_LOST_AFTER_MS, the one after which
 * its running operations become `lost`); `silent`: not since.
 */
export type DispatcherState = 'alive' | 'silent';
export const DISPATCHER_STATES: readonly DispatcherState[] = ['alive', 'silent'];

/** An operation a dispatcher's last heartbeat named; type and target null when not stored. */
export interface DispatcherOperation {
  id: string;
  type: string | null;
  target: string | null;
}

/** A dispatcher as `GET /workers` and `aegir workers` show it. */
export interface DispatcherView {
  dispatcherId: string;
  pool: string;
  state: DispatcherState;
  /** How many operations its last heartbeat named (being claimed or running there). */
  running: number;
  /** Its DISPATCHER_CONCURRENCY; null when its release does not say. */
  concurrency: number | null;
  operations: DispatcherOperation[];
  firstSeenAt: string;
  lastSeenAt: string;
  /** When it is (or became) `silent` unless it is heard from again. */
  silentAfter: string;
  /** now − lastSeenAt, in milliseconds, by the database's clock. */
  lastSeenAgoMs: number;
}

export interface DispatcherFilter {
  pool?: string;
}

interface DispatcherRow {
  pool: string;
  dispatcher_id: string;
  concurrency: number | null;
  first_seen_at: Date;
  last_seen_at: Date;
  silent_after: Date;
  silent: boolean;
  ago_ms: number;
  operations: DispatcherOperation[];
}

/**
 * The dispatchers seen by heartbeat (the relay writes them, see
 * `OperationStateRepository.recordHeartbeats`): the one read of them, for the api's
 * `GET /workers` and for `aegir workers`. By pool, then id; one round trip.
 */
@Injectable()
export class DispatcherStore {
  constructor(private readonly dataSource: DataSource) {}

  async list(filter: DispatcherFilter = {}): Promise<DispatcherView[]> {
    const rows = await this.dataSource.query<DispatcherRow[]>(
      `SELECT d.pool, d.dispatcher_id, d.concurrency, d.first_seen_at, d.last_seen_at,
              d.silent_after, now() > d.silent_after AS silent,
              round(EXTRACT(EPOCH FROM now() - d.last_seen_at) * 1000)::float8 AS ago_ms,
              COALESCE((SELECT json_agg(json_build_object('id', o.id, 'type', op.type,
                                                          'target', op.target) ORDER BY o.n)
                          FROM unnest(d.operations) WITH ORDINALITY AS o(id, n)
                          LEFT JOIN operations op ON op.id = o.id), '[]'::json) AS operations
         FROM dispatchers d
        WHERE ($1::text IS NULL OR d.pool = $1)
        ORDER BY d.pool, d.dispatcher_id`,
      [filter.pool ?? null],
    );
    return rows.map((row) => ({
      dispatcherId: row.dispatcher_id,
      pool: row.pool,
      state: row.silent ? 'silent' : 'alive',
      running: row.operations.length,
      concurrency: row.concurrency,
      operations: row.operations,
      firstSeenAt: row.first_seen_at.toISOString(),
      lastSeenAt: row.last_seen_at.toISOString(),
      silentAfter: row.silent_after.toISOString(),
      lastSeenAgoMs: row.ago_ms,
    }));
  }
}
