/**
 * The request does not fit the operation's current state (cancel a finished operation,
 * retry one that is still running or already retried); the api answers it with a 409.
 */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}
