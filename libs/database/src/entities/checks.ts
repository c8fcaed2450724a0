import { OPERATION_STATUSES } from '@app/contracts';

const sqlList = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

/** The CHECK on every status column: the words of @app/contracts OPERATION_STATUSES. */
export const STATUS_CHECK = `status IN (${sqlList(OPERATION_STATUSES)})`;

export const LOG_STREAMS = ['stdout', 'stderr', 'system'] as const;
export const STREAM_CHECK = `stream IN (${sqlList(LOG_STREAMS)})`;

export const OUTBOX_KINDS = ['dispatch', 'cancel'] as const;
export type OutboxKind = (typeof OUTBOX_KINDS)[number];
export const OUTBOX_KIND_CHECK = `kind IN (${sqlList(OUTBOX_KINDS)})`;

/** A published outbox row keeps no message: it held the operation's params. */
export const OUTBOX_PUBLISHED_PAYLOAD_CHECK = `published_at IS NULL OR payload = '{}'::jsonb`;
