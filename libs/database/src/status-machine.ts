import { OPERATION_STATUSES, isTerminal, type OperationStatus } from '@app/contracts';

/** How far along an operation is; every terminal status shares the last rank. */
export function statusRank(status: OperationStatus): number {
  switch (status) {
    case 'queued':
      return 0;
    case 'dispatched':
      return 1;
    case 'running':
      return 2;
    default:
      return 3;
  }
}

/**
 * Statuses only move forward and terminal statuses never change: a late or replayed
 * event can never take an operation back to an earlier status.
 */
export function canMove(from: OperationStatus, to: OperationStatus): boolean {
  return !isTerminal(from) && statusRank(to) > statusRank(from);
}

/** The statuses from which `to` may be reached, for `UPDATE … WHERE status = ANY($n)`. */
export function statusesBefore(to: OperationStatus): OperationStatus[] {
  return OPERATION_STATUSES.filter((from) => canMove(from, to));
}

/** The statuses an operation may be retried from: it ended without succeeding. */
export const RETRYABLE_STATUSES = ['failed', 'timed_out', 'lost', 'cancelled'] as const;

export function isRetryable(status: OperationStatus): boolean {
  return (RETRYABLE_STATUSES as readonly string[]).includes(status);
}
