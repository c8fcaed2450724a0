/**
 * The exit code of a command that waited for an operation to end: 0 succeeded, 2 failed,
 * 3 timed_out, 4 cancelled, 5 lost (1 stays "the command itself failed").
 */
const CODES: Record<string, number> = {
  succeeded: 0,
  failed: 2,
  timed_out: 3,
  cancelled: 4,
  lost: 5,
};

export const statusExitCode = (status: string): number => CODES[status] ?? 1;
