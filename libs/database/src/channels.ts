/** NOTIFY channel the relay LISTENs on: an outbox row is waiting to be published. */
export const OUTBOX_CHANNEL = 'aegir_outbox';

/** NOTIFY channel followers LISTEN on: new log lines or a status change were committed. */
export const LOG_CHANNEL = 'aegir_log';
