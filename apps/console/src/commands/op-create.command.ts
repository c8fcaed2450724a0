import { Command, CommandRunner, Option } from 'nest-commander';
import { CliError } from '../cli-error';
import { buildParams, durationFlag } from '../flags';
import { statusExitCode } from '../live-log/status-exit-code';
import { Operations } from '../operations/operations';
import { readParamsFile } from '../params-file';
import { out, printJson } from '../output';
import { printWaitResult } from './op-wait.command';
import { waitForEnd } from '../operations/wait';

interface OpCreateOptions {
  target?: string;
  param?: string[];
  params?: string;
  paramsFile?: string;
  wait?: boolean;
  timeout?: string;
  follow?: boolean;
  json?: boolean;
}

@Command({
  name: 'op:create',
  arguments: '<type>',
  description:
    'Queue an operation of a catalogue type, as POST /operations does (through the api when AEGIR_API_URL is set); params: --params-file, then --params over it, then each --param over both',
  argsDescription: { type: 'operation type, e.g. demo.hello' },
})
export class OpCreateCommand extends CommandRunner {
  constructor(private readonly operations: Operations) {
    super();
  }

  async run([type]: string[], options: OpCreateOptions): Promise<void> {
    if (options.target === undefined) throw new CliError('--target is required');
    if (options.timeout !== undefined && !options.wait) {
      throw new CliError('--timeout goes with --wait');
    }
    if (options.wait && options.follow) throw new CliError('--wait and --follow: choose one');
    const timeoutMs = durationFlag('--timeout', options.timeout);
    const file = options.paramsFile === undefined ? {} : await readParamsFile(options.paramsFile);
    const view = await this.operations.create({
      type,
      target: options.target,
      params: buildParams(options.params, options.param ?? [], file),
    });
    const json = options.json === true;
    if (options.follow) {
      // the id first, so that a follow cut short still says what to follow
      if (json) await out(`${JSON.stringify({ id: view.id, status: view.status })}\n`);
      else await out(`operation ${view.id} ${view.status}\n`);
      const status = await this.operations.follow(view.id, 0, { json, raw: false });
      process.exitCode = statusExitCode(status);
      return;
    }
    if (json && !options.wait) return printJson(view);
    if (!json) {
      const tasks = view.tasks?.length ?? 0;
      await out(
        `operation ${view.id} ${view.status}: ${view.type} on ${view.target} (${tasks} task${tasks === 1 ? '' : 's'})\n`,
      );
    }
    if (options.wait) {
      const started = Date.now();
      const result = await waitForEnd(this.operations, view.id, timeoutMs);
      await printWaitResult(result, { json, timeout: options.timeout, started });
    }
  }

  @Option({ flags: '-t, --target <target>', description: 'host or site the operation acts on' })
  parseTarget(value: string): string {
    return value;
  }

  @Option({
    flags: '-p, --param <key=value>',
    description:
      'a parameter; the value is read as JSON when it parses (5, true, "5"), else as text; repeatable; wins over --params and --params-file',
  })
  parseParam(value: string, previous: string[] | undefined): string[] {
    return [...(previous ?? []), value];
  }

  @Option({
    flags: '--params <json>',
    description: 'parameters as a JSON object; wins over --params-file, key by key',
  })
  parseParams(value: string): string {
    return value;
  }

  @Option({
    flags: '--params-file <file>',
    description:
      'parameters as a JSON or YAML object from a file, or - for standard input (secrets then stay off the command line)',
  })
  parseParamsFile(value: string): string {
    return value;
  }

  @Option({
    flags: '--wait',
    description:
      'then wait until it ends (as op:wait): exit code 0 succeeded, 2 failed, 3 timed_out, 4 cancelled, 5 lost, 6 still going after --timeout',
  })
  parseWait(): boolean {
    return true;
  }

  @Option({
    flags: '--timeout <duration>',
    description: 'with --wait: stop waiting after this long (90s, 30m, 2h); the operation goes on',
  })
  parseTimeout(value: string): string {
    return value;
  }

  @Option({
    flags: '--follow',
    description:
      'then print its log as it comes until it ends (as op:log --follow; exit code 0 succeeded, 2 failed, 3 timed_out, 4 cancelled, 5 lost)',
  })
  parseFollow(): boolean {
    return true;
  }

  @Option({
    flags: '--json',
    description: 'print the operation as JSON (with --wait: as it ended)',
  })
  parseJson(): boolean {
    return true;
  }
}
