import type { OperationStatus } from './status';

/** The wire version every message carries in `v`; bump it on a breaking change. */
export const CONTRACT_VERSION = 1 as const;

export interface DispatchTask {
  id: string;
  /** The task's name in the catalogue type; the dispatcher resolves it from its own catalogue. */
  name: string;
}

/** relay → dispatcher (dispatch exchange, routing key = pool): run this operation. */
export interface DispatchMessage {
  v: typeof CONTRACT_VERSION;
  kind: 'dispatch';
  operationId: string;
  type: string;
  target: string;
  params: Record<string, unknown>;
  tasks: DispatchTask[];
  sentAt: string;
}

/** relay → every dispatcher (control exchange): stop this operation. */
export interface CancelMessage {
  v: typeof CONTRACT_VERSION;
  kind: 'cancel';
  operationId: string;
  reason: string;
  sentAt: string;
}

/**
 * relay → one dispatcher (default exchange, routing key = the claim's replyTo): whether it
 * may run the operation. Only a granted claim runs: a cancel that won the race in the
 * database is never overtaken by a dispatch message already on its way.
 */
export interface ClaimResultMessage {
  v: typeof CONTRACT_VERSION;
  kind: 'claim-result';
  operationId: string;
  granted: boolean;
  reason?: string | null;
}

/** What arrives on a dispatcher's own control queue. */
export type ControlMessage = CancelMessage | ClaimResultMessage;

/**
 * What the relay adds to every message it signs (see signing.ts): a nonce never used
 * twice, and the time after which the message is refused.
 */
export interface SignedFields {
  nonce: string;
  expiresAt: string;
}

/** A dispatch as it travels: signed, and naming the pool it is for. */
export type SignedDispatchMessage = DispatchMessage & SignedFields & { pool: string };

/** A cancel as it travels: signed (it goes to every dispatcher). */
export type SignedCancelMessage = CancelMessage & SignedFields;

/** A claim answer as it travels: signed, and naming the dispatcher and the claim it answers. */
export type SignedClaimResultMessage = ClaimResultMessage &
  SignedFields & { dispatcherId: string; claimId?: string };

/** What arrives on a dispatcher's own control queue, as it travels. */
export type SignedControlMessage = SignedCancelMessage | SignedClaimResultMessage;

export type LogStream = 'stdout' | 'stderr' | 'system';

export interface LogLine {
  /** 1-based, contiguous within the operation, across all of its tasks. */
  seq: number;
  taskId: string | null;
  stream: LogStream;
  text: string;
  at: string;
  /** A piece of a line longer than the limit: the next line continues it. */
  continues?: boolean;
}

/**
 * dispatcher → relay: a batch of output lines of one operation, in seq order, one object a
 * line. Dispatchers now send the compact `lines` form; the relay still takes this one so
 * that dispatchers of an older release keep reporting during a rolling upgrade.
 */
export interface LogMessage {
  v: typeof CONTRACT_VERSION;
  kind: 'log';
  operationId: string;
  lines: LogLine[];
}

/** A line's stream in a `lines` message: one character per line. */
export const STREAM_CODES = { o: 'stdout', e: 'stderr', s: 'system' } as const;
export type StreamCode = keyof typeof STREAM_CODES;
export const STREAM_CODE_OF: Record<LogStream, StreamCode> = {
  stdout: 'o',
  stderr: 'e',
  system: 's',
};

/**
 * dispatcher → relay: consecutive output lines of one task (or of the operation itself, with
 * taskId null), in columns: the compact form of `log`, about a tenth of its size, and cheap to
 * build, check and store. Line i has seq `seq + i`, text `text[i]`, stream `streams[i]`
 * (see STREAM_CODES) and was emitted `ms[i]` milliseconds after `at`.
 */
export interface LinesMessage {
  v: typeof CONTRACT_VERSION;
  kind: 'lines';
  operationId: string;
  taskId: string | null;
  /** The first line's seq. */
  seq: number;
  at: string;
  text: string[];
  ms: number[];
  streams: string;
  /** Indexes of the lines that are a piece of a longer line, continued by the next. */
  continues?: number[];
}

/** dispatcher → relay: an operation (taskId null) or one of its tasks changed status. */
export interface StatusMessage {
  v: typeof CONTRACT_VERSION;
  kind: 'status';
  operationId: string;
  taskId: string | null;
  status: OperationStatus;
  at: string;
  dispatcherId: string;
  exitCode?: number | null;
  reason?: string | null;
  /** On the operation's final status: how many lines it emitted in all. */
  lineCount?: number;
}

/** dispatcher → relay: I am alive and running these operations. */
export interface HeartbeatMessage {
  v: typeof CONTRACT_VERSION;
  kind: 'heartbeat';
  dispatcherId: string;
  pool: string;
  operations: string[];
  at: string;
  /**
   * Its DISPATCHER_CONCURRENCY: how many operations it runs at once. Optional: dispatchers of
   * an older release do not send it (a relay of an older release refuses it: upgrade the relay
   * first, as for any new field).
   */
  concurrency?: number;
}

/** dispatcher → relay (claims queue): may I run this operation? Answered to `replyTo`. */
export interface ClaimMessage {
  v: typeof CONTRACT_VERSION;
  kind: 'claim';
  operationId: string;
  dispatcherId: string;
  replyTo: string;
  at: string;
  /** Chosen by the dispatcher for each claim; the signed answer repeats it. */
  claimId?: string;
}

/** One event as the relay applies it. */
export type SingleEvent = LogMessage | LinesMessage | StatusMessage | HeartbeatMessage;

/**
 * dispatcher → relay: consecutive events of one operation, in order, in one message: what
 * queued up while the previous message waited for its confirm goes out together.
 */
export interface EventsMessage {
  v: typeof CONTRACT_VERSION;
  kind: 'events';
  operationId: string;
  events: (LinesMessage | StatusMessage)[];
}

export type EventMessage = SingleEvent | EventsMessage;
export type EventKind = EventMessage['kind'];
/** What the events queue takes; each is also its routing key on the events exchange. */
export const EVENT_KINDS: readonly EventKind[] = ['log', 'lines', 'events', 'status', 'heartbeat'];

/** The events of a batch of messages, each group opened, in order. */
export function singleEvents(messages: readonly EventMessage[]): SingleEvent[] {
  return messages.flatMap((message) => (message.kind === 'events' ? message.events : [message]));
}
export type AnyMessage = DispatchMessage | ControlMessage | EventMessage | ClaimMessage;
