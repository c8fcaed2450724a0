import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { toStorable } from '@app/platform';
import { BadCursorError, UUID_PATTERN } from '../cursor';
import type { AuditOutcome } from '../entities/checks';

export interface AuditEntry {
  actor: string;
  action: string;
  outcome: 'ok' | 'refused';
  operationId?: string | null;
  /** The remote address of an api request, or `console`. */
  source?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditEventView {
  id: number;
  at: string;
  actor: string;
  action: string;
  outcome: AuditOutcome;
  operationId: string | null;
  source: string | null;
  detail: Record<string, unknown>;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  outcome?: AuditOutcome;
  operationId?: string;
  limit: number;
  /** From a previous page's `nextCursor`; one that does not decode throws BadCursorError. */
  cursor?: string;
}

export interface AuditPage {
  items: AuditEventView[];
  nextCursor: string | null;
}

/** Longest text kept of any one value: a hostile request cannot make the trail grow without bound. */
const MAX_TEXT = 500;
const MAX_DETAIL_BYTES = 8192;
/** Text PostgreSQL can store, cut to MAX_TEXT: NUL and lone surrogates become U+FFFD. */
function storable(text: string): string {
  const clean = toStorable(text);
  return clean.length > MAX_TEXT ? `${clean.slice(0, MAX_TEXT)}…` : clean;
}

function storableDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const json = JSON.stringify(detail, (_key, value: unknown) =>
    typeof value === 'string' ? storable(value) : value,
  );
  if (Buffer.byteLength(json) <= MAX_DETAIL_BYTES)
    return JSON.parse(json) as Record<string, unknown>;
  return { truncated: true, bytes: Buffer.byteLength(json) };
}

const encodeCursor = (id: string): string => Buffer.from(`a${id}`).toString('base64url');

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^a[1-9][0-9]{0,18}$/.test(text)) throw new BadCursorError();
  return text.slice(1);
}

/**
 * The audit trail: every create, cancel and retry, every token change and every refused
 * request, with who, what, when and from where. Rows are only ever added.
 */
@Injectable()
export class AuditLog {
  constructor(private readonly dataSource: DataSource) {}

  async record(entry: {
    actor: string;
    action: string;
    outcome: 'ok' | 'refused';
    operationId?: string | null;
    source?: string | null;
    detail?: Record<string, unknown>;
  }): Promise<void> {
    const operationId =
      entry.operationId && UUID_PATTERN.test(entry.operationId) ? entry.operationId : null;
    await this.dataSource.query(
      `INSERT INTO audit_events (actor, action, outcome, operation_id, source, detail)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        storable(entry.actor),
        storable(entry.action),
        entry.outcome,
        operationId,
        entry.source == null ? null : storable(entry.source),
        storableDetail(entry.detail ?? {}),
      ],
    );
  }

  /** Newest first, keyset-paginated on id. */
  async list(filter: AuditFilter): Promise<AuditPage> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (condition: (n: string) => string, value: unknown) => {
      values.push(value);
      where.push(condition(`$${values.length}`));
    };
    if (filter.actor !== undefined) add((n) => `actor = ${n}`, filter.actor);
    if (filter.action !== undefined) add((n) => `action = ${n}`, filter.action);
    if (filter.outcome !== undefined) add((n) => `outcome = ${n}`, filter.outcome);
    if (filter.operationId !== undefined) {
      if (!UUID_PATTERN.test(filter.operationId)) return { items: [], nextCursor: null };
      add((n) => `operation_id = ${n}::uuid`, filter.operationId);
    }
    if (filter.cursor !== undefined) add((n) => `id < ${n}::bigint`, decodeCursor(filter.cursor));
    values.push(filter.limit + 1);
    const rows: {
      id: string;
      at: Date;
      actor: string;
      action: string;
      outcome: AuditOutcome;
      operation_id: string | null;
      source: string | null;
      detail: Record<string, unknown>;
    }[] = await this.dataSource.query(
      `SELECT id, at, actor, action, outcome, operation_id, source, detail FROM audit_events
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY id DESC LIMIT $${values.length}`,
      values,
    );
    const page = rows.slice(0, filter.limit);
    return {
      items: page.map((row) => ({
        id: Number(row.id),
        at: row.at.toISOString(),
        actor: row.actor,
        action: row.action,
        outcome: row.outcome,
        operationId: row.operation_id,
        source: row.source,
        detail: row.detail,
      })),
      nextCursor:
        rows.length > filter.limit && page.length > 0
          ? encodeCursor(page[page.length - 1].id)
          : null,
    };
  }
}
