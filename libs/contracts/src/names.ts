/** Every exchange, queue and routing key the apps agree on. */
export const Exchanges = {
  /** direct; routing key = pool name; one quorum queue per pool. */
  dispatch: 'aegir.dispatch',
  /** topic; routing key = message kind: every event kind (EVENT_KINDS) goes to the events queue, claims to the claims queue. */
  events: 'aegir.events',
  /** fanout; every dispatcher binds its own exclusive queue. */
  control: 'aegir.control',
  /** fanout; where rejected and malformed messages go, with their reason. */
  deadLetter: 'aegir.dead-letter',
} as const;

export const Queues = {
  dispatch: (pool: string): string => `aegir.dispatch.${pool}`,
  events: 'aegir.events',
  /** Dispatchers' claims; the relays answer each on the claimant's control queue. */
  claims: 'aegir.claims',
  deadLetter: 'aegir.dead-letter',
  /**
   * A dispatcher's own exclusive queue (cancels, claim answers). The pool is in the name so
   * that the pool's broker user may declare exactly its own dispatchers' queues.
   */
  control: (pool: string, dispatcherId: string): string => `aegir.control.${pool}.${dispatcherId}`,
} as const;

/** Header set on a message that a consumer dead-lettered itself, saying why. */
export const DEAD_LETTER_REASON_HEADER = 'x-aegir-reason';
/** Header naming the queue the dead-lettered message was taken from. */
export const DEAD_LETTER_QUEUE_HEADER = 'x-aegir-queue';
/** Header naming the exchange the dead-lettered message was published to (`aegir dlq:replay` puts it back there). */
export const DEAD_LETTER_EXCHANGE_HEADER = 'x-aegir-exchange';

/** Pools are routing keys and part of queue names: keep them plain. */
export const POOL_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
