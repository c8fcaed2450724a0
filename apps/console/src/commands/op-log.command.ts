import { Command, CommandRunner, Option } from 'nest-commander';
import { integerFlag, operationId } from '../flags';
import { printLines } from '../live-log/log-printer';
import { statusExitCode } from '../live-log/status-exit-code';
import { Operations } from '../operations/operations';

export { firstGap } from '@app/platform';

interface OpLogOptions {
  after?: string;
  follow?: boolean;
  json?: boolean;
  raw?: boolean;
}

const PAGE = 1000;

@Command({
  name: 'op:log',
  arguments: '<id>',
  description:
    "Print an operation's output; with --follow, as it comes until the operation ends (over the api's live log when AEGIR_API_URL is set); exit code then: 0 succeeded, 2 failed, 3 timed_out, 4 cancelled, 5 lost",
})
export class OpLogCommand extends CommandRunner {
  constructor(private readonly operations: Operations) {
    super();
  }

  async run([raw]: string[], options: OpLogOptions): Promise<void> {
    const id = operationId(raw);
    let after = integerFlag('--after', options.after, 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const print = { json: options.json === true, raw: options.raw === true };

    if (options.follow) {
      const status = await this.operations.follow(id, after, print);
      process.exitCode = statusExitCode(status);
      return;
    }
    for (;;) {
      // A page may end early (its bytes are bounded too): only an empty one is the end.
      const lines = await this.operations.log(id, after, PAGE);
      if (lines.length === 0) return;
      await printLines(lines, print);
      after = lines[lines.length - 1].seq;
    }
  }

  @Option({ flags: '--after <seq>', description: 'only lines after this sequence number' })
  parseAfter(value: string): string {
    return value;
  }

  @Option({ flags: '-f, --follow', description: 'keep printing until the operation ends' })
  parseFollow(): boolean {
    return true;
  }

  @Option({
    flags: '--raw',
    description:
      'print control characters as they are (by default they are shown escaped, e.g. \\x1b)',
  })
  parseRaw(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'one JSON object per line' })
  parseJson(): boolean {
    return true;
  }
}
