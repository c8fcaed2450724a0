import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TOKEN_CHANNEL } from '../channels';
import { ConflictError } from '../conflict-error';
import { UUID_PATTERN } from '../cursor';
import type { TokenRole } from '../entities/checks';
import {
  checkGlob,
  checkRole,
  checkTokenName,
  MAX_TOKEN_LIFETIME_SECONDS,
  TokenRequestError,
  type TokenScope,
} from './token-rules';

/** `aq_<id>_<secret>`: recognisable in a leak scan, and its id finds the row by key. */
export const TOKEN_PREFIX = 'aq_';
const TOKEN_FORMAT =
  /^aq_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** What anyone may see of a token: never its hash. */
export interface ApiTokenView extends TokenScope {
  id: string;
  name: string;
  role: TokenRole;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface NewApiToken {
  name: string;
  role: TokenRole;
  types?: string | null;
  targets?: string | null;
  /** Seconds from now until it stops working; none: it works until revoked. */
  expiresInSeconds?: number | null;
}

/** A created token: `token` is its only clear copy, to be shown once. */
export interface CreatedApiToken {
  token: string;
  view: ApiTokenView;
}

/** Why a presented token was refused. `token` is set when the secret matched. */
export type TokenRefusal = 'malformed' | 'unknown' | 'expired' | 'revoked';
export type TokenCheck =
  { ok: true; token: ApiTokenView } | { ok: false; reason: TokenRefusal; token?: ApiTokenView };

interface TokenRow {
  id: string;
  name: string;
  role: TokenRole;
  types: string | null;
  targets: string | null;
  hash: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const VIEW_COLUMNS = `id, name, role, types, targets, created_at, expires_at, revoked_at, last_used_at`;
const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);
const sha256 = (secret: string): string => createHash('sha256').update(secret).digest('hex');
/** Compared with an unknown id too, so that an unknown token costs what a wrong one does. */
const NO_HASH = sha256('no such token');
/** last_used_at is written at most this often per token, not once per request. */
const LAST_USED_RESOLUTION_SECONDS = 60;

function toView(row: Omit<TokenRow, 'hash'>): ApiTokenView {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    types: row.types,
    targets: row.targets,
    createdAt: row.created_at.toISOString(),
    expiresAt: iso(row.expires_at),
    revokedAt: iso(row.revoked_at),
    lastUsedAt: iso(row.last_used_at),
  };
}

const UNIQUE_VIOLATION = '23505';

/** Api tokens: created (the clear token returned once), checked, listed, revoked. */
@Injectable()
export class ApiTokenRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Checks every field first (TokenRequestError); a name in use is a ConflictError. */
  async create(request: NewApiToken): Promise<CreatedApiToken> {
    const name = checkTokenName(request.name);
    const role = checkRole(request.role);
    const types = checkGlob('types', request.types);
    const targets = checkGlob('targets', request.targets);
    const expires = request.expiresInSeconds ?? null;
    if (
      expires !== null &&
      (!Number.isSafeInteger(expires) || expires < 1 || expires > MAX_TOKEN_LIFETIME_SECONDS)
    ) {
      throw new TokenRequestError('expires', `expires must be 1 s to 3650 days`);
    }
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    try {
      const [row]: Omit<TokenRow, 'hash'>[] = await this.dataSource.query(
        `INSERT INTO api_tokens (id, name, role, types, targets, hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6,
                 CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::int) END)
         RETURNING ${VIEW_COLUMNS}`,
        [id, name, role, types, targets, sha256(secret), expires],
      );
      return { token: `${TOKEN_PREFIX}${id}_${secret}`, view: toView(row) };
    } catch (error) {
      const pg = (error as { driverError?: { code?: string; constraint?: string } }).driverError;
      if (pg?.code === UNIQUE_VIOLATION && pg.constraint === 'uq_api_tokens_name') {
        throw new ConflictError(`a token named ${name} already exists`);
      }
      throw error;
    }
  }

  /**
   * The token a bearer presented, if it is one of ours and in force. The secret's hash is
   * compared in constant time; a token in force has its last use noted (once a minute).
   */
  async check(presented: string): Promise<TokenCheck> {
    const parts = TOKEN_FORMAT.exec(presented);
    if (!parts) return { ok: false, reason: 'malformed' };
    const [, id, secret] = parts;
    const [row]: (TokenRow & { expired: boolean; used_lately: boolean })[] =
      await this.dataSource.query(
        `SELECT ${VIEW_COLUMNS}, hash, expires_at <= now() AS expired,
                last_used_at >= now() - make_interval(secs => $2) AS used_lately
           FROM api_tokens WHERE id = $1`,
        [id, LAST_USED_RESOLUTION_SECONDS],
      );
    const matches = timingSafeEqual(
      Buffer.from(sha256(secret), 'hex'),
      Buffer.from(row?.hash ?? NO_HASH, 'hex'),
    );
    if (!row || !matches) return { ok: false, reason: 'unknown' };
    const token = toView(row);
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked', token };
    if (row.expired) return { ok: false, reason: 'expired', token };
    // most requests: noted within the minute already, so no write at all
    if (row.used_lately) return { ok: true, token };
    await this.dataSource.query(
      `UPDATE api_tokens SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
      [id, LAST_USED_RESOLUTION_SECONDS],
    );
    return { ok: true, token };
  }

  /** Every token, newest first, revoked and expired ones included. */
  async list(): Promise<ApiTokenView[]> {
    const rows: Omit<TokenRow, 'hash'>[] = await this.dataSource.query(
      `SELECT ${VIEW_COLUMNS} FROM api_tokens ORDER BY created_at DESC, name`,
    );
    return rows.map(toView);
  }

  /** One token by id or name, or null. */
  async find(ref: string): Promise<ApiTokenView | null> {
    const [row]: Omit<TokenRow, 'hash'>[] = await this.dataSource.query(
      `SELECT ${VIEW_COLUMNS} FROM api_tokens WHERE ${UUID_PATTERN.test(ref) ? 'id = $1::uuid' : 'name = $1'}`,
      [ref],
    );
    return row ? toView(row) : null;
  }

  /**
   * Revokes a token, by id or name: it stops working at once. Null when there is none;
   * revoking a revoked token changes nothing (`changed: false`).
   */
  async revoke(ref: string): Promise<{ token: ApiTokenView; changed: boolean } | null> {
    const where = UUID_PATTERN.test(ref) ? 'id = $1::uuid' : 'name = $1';
    // the NOTIFY goes out when the UPDATE commits: open streams of the token end then
    const [revoked]: Omit<TokenRow, 'hash'>[] = await this.dataSource.query(
      `WITH revoked AS (
         UPDATE api_tokens SET revoked_at = now() WHERE ${where} AND revoked_at IS NULL
         RETURNING ${VIEW_COLUMNS}
       )
       SELECT revoked.*, pg_notify($2, revoked.id::text) FROM revoked`,
      [ref, TOKEN_CHANNEL],
    );
    if (revoked) return { token: toView(revoked), changed: true };
    const token = await this.find(ref);
    return token ? { token, changed: false } : null;
  }

  /** Of these token ids, those neither revoked nor expired now. */
  async stillValid(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM api_tokens
        WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
      [ids],
    );
    return new Set(rows.map((row) => row.id));
  }
}
