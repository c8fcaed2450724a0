import { OPERATION_STATUSES } from '@app/contracts';

const sqlList = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

/** The CHECK on every status column: the words of @app/contracts OPERATION_STATUSES. */
export const STATUS_CHECK = `status IN (${sqlList(OPERATION_STATUSES)})`;

export const LOG_STREAMS = ['stdout', 'stderr', 'system'] as const;
export const STREAM_CHECK = `stream IN (${sqlList(LOG_STREAMS)})`;

export const OUTBOX_KINDS = ['dispatch', 'cancel'] as const;
export type OutboxKind = (typeof OUTBOX_KINDS)[number];
export const OUTBOX_KIND_CHECK = `kind IN (${sqlList(OUTBOX_KINDS)})`;

/** What an api token may do: viewer reads; operator also creates, cancels, retries; admin also manages tokens and reads the audit. */
export const TOKEN_ROLES = ['viewer', 'operator', 'admin'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];
export const TOKEN_ROLE_CHECK = `role IN (${sqlList(TOKEN_ROLES)})`;

export const AUDIT_OUTCOMES = ['ok', 'refused'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
export const AUDIT_OUTCOME_CHECK = `outcome IN (${sqlList(AUDIT_OUTCOMES)})`;
/** A published outbox row keeps no message: it held the operation's params. */
export const OUTBOX_PUBLISHED_PAYLOAD_CHECK = `published_at IS NULL OR payload = '{}'::jsonb`;
