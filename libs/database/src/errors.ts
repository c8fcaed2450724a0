import type { OperationStatus } from '@app/contracts';

/**
 * The request does not fit the operation's current state (cancel a finished operation,
 * retry one that is still running or already retried); the api answers it with a 409.
 */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** The statuses an operation may be retried from: it ended without succeeding. */
export const RETRYABLE_STATUSES = ['failed', 'timed_out', 'lost', 'cancelled'] as const;

export function isRetryable(status: OperationStatus): boolean {
  return (RETRYABLE_STATUSES as readonly string[]).includes(status);
}

/** Throws the ConflictError for an operation that may not be retried from this status. */
export function checkRetryable(id: string, status: OperationStatus): void {
  if (!isRetryable(status)) {
    throw new ConflictError(
      `operation ${id} is ${status}; only a failed, timed_out, lost or cancelled operation can be retried`,
    );
  }
}
