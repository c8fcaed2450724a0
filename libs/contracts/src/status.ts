/** The words for operation and task status, shared by the wire and the database. */
export const OPERATION_STATUSES = [
  'queued',
  'dispatched',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
  'lost',
] as const;

export type OperationStatus = (typeof OPERATION_STATUSES)[number];
export type TerminalStatus = 'succeeded' | 'failed' | 'cancelled' | 'timed_out' | 'lost';

export const TERMINAL_STATUSES: readonly TerminalStatus[] = [
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
  'lost',
];

export function isTerminal(status: OperationStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}
