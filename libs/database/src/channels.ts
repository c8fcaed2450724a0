/** NOTIFY channel the relay LISTENs on: an outbox row is waiting to be published. */
export const OUTBOX_CHANNEL = 'aegir_outbox';

/** NOTIFY channel followers LISTEN on: new log lines or a status change were committed. */
export const LOG_CHANNEL = 'aegir_log';

/**
 * NOTIFY channel with the id of an operation whose status, or one of whose tasks' status,
 * changed: created, dispatched, claimed, a dispatcher's status event, ended. Dashboards
 * LISTEN on it; a follower of one operation's log LISTENs on both.
 */
export const STATUS_CHANNEL = 'aegir_status';

/**
 * NOTIFY channel with the id of an API token that was just revoked: the api ends the streams
 * opened with it at once, rather than at their next request.
 */
export const TOKEN_CHANNEL = 'aegir_token';
