import { Command, CommandRunner, Option } from 'nest-commander';
import { CliError } from '../cli-error';
import { durationFlag, operationId } from '../flags';
import { formatDuration, formatStatus } from '../format';
import { statusExitCode } from '../live-log/status-exit-code';
import { Operations } from '../operations/operations';
import { WAIT_TIMEOUT_EXIT, waitForEnd, type WaitResult } from '../operations/wait';
import { out, printJson } from '../output';

interface OpWaitOptions {
  timeout?: string;
  json?: boolean;
}

/**
 * The end of a wait: the final status on stdout (or the operation as JSON) and its exit code;
 * past --timeout, `error: … still <status>` and WAIT_TIMEOUT_EXIT.
 */
export async function printWaitResult(
  result: WaitResult,
  options: { json: boolean; timeout: string | undefined; started: number },
): Promise<void> {
  const { view } = result;
  if (options.json) await printJson(view);
  if (!result.ended) {
    throw new CliError(
      `operation ${view.id} is still ${view.status} after ${options.timeout} (--timeout); it goes on`,
      WAIT_TIMEOUT_EXIT,
    );
  }
  if (!options.json) {
    await out(
      `operation ${view.id} ${formatStatus(view)} after ${formatDuration(Date.now() - options.started)}\n`,
    );
  }
  process.exitCode = statusExitCode(view.status);
}

@Command({
  name: 'op:wait',
  arguments: '<id>',
  description: `Wait until an operation ends; exit code 0 succeeded, 2 failed, 3 timed_out, 4 cancelled, 5 lost, ${WAIT_TIMEOUT_EXIT} still going after --timeout, 1 the command failed`,
})
export class OpWaitCommand extends CommandRunner {
  constructor(private readonly operations: Operations) {
    super();
  }

  async run([raw]: string[], options: OpWaitOptions): Promise<void> {
    const id = operationId(raw);
    const timeoutMs = durationFlag('--timeout', options.timeout);
    const started = Date.now();
    const result = await waitForEnd(this.operations, id, timeoutMs);
    await printWaitResult(result, {
      json: options.json === true,
      timeout: options.timeout,
      started,
    });
  }

  @Option({
    flags: '--timeout <duration>',
    description: `stop waiting after this long (90s, 30m, 2h; default: until it ends), exit ${WAIT_TIMEOUT_EXIT}; the operation goes on`,
  })
  parseTimeout(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print the operation as JSON when the wait ends' })
  parseJson(): boolean {
    return true;
  }
}
