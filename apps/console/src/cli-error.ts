/** The exit code of a command refused for its input (a bad flag or argument). */
export const BAD_INPUT = 2;

/** An error the user can act on: printed as `error: <message>`, never with a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** One line for the user; the stack only when AEGIR_DEBUG is set. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (process.env.AEGIR_DEBUG && error.stack) return error.stack;
  // Connecting to a host name with several addresses fails with an AggregateError.
  if (error instanceof AggregateError && !error.message) {
    return error.errors.map((inner) => describeError(inner)).join('; ');
  }
  return error.message;
}

/** Prints the error and sets the exit code; the process then ends once everything is closed. */
export function reportError(error: unknown): void {
  process.stderr.write(`error: ${describeError(error)}\n`);
  process.exitCode = error instanceof CliError ? error.exitCode : 1;
}
