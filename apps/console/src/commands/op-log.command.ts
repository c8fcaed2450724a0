import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal } from '@app/contracts';
import type { LogLineView, OperationStore } from '@app/database';
import { Command, CommandRunner, Option } from 'nest-commander';
import { CliError } from '../cli-error';
import { ConsoleDatabase } from '../console-database';
import { integerFlag, operationId } from '../flags';
import { out, write } from '../output';
import { escapeControls } from '@app/platform';

interface OpLogOptions {
  after?: string;
  follow?: boolean;
  json?: boolean;
  raw?: boolean;
}

const PAGE = 1000;
const POLL_MS = 200;
/** After the final status, how long to wait for lines the dispatcher said it sent. */
const LATE_LINES_MS = 5000;
/** How long a missing seq may hold back the lines after it. */
const GAP_WAIT_MS = 2000;

/** The index of the first line that does not follow on from `after`, or lines.length. */
export function firstGap(lines: readonly LogLineView[], after: number): number {
  const index = lines.findIndex((line, i) => line.seq !== after + i + 1);
  return index === -1 ? lines.length : index;
}

@Command({
  name: 'op:log',
  arguments: '<id>',
  description:
    "Print an operation's output; with --follow, until it ends (exit 0 if it succeeded, else 2)",
})
export class OpLogCommand extends CommandRunner {
  constructor(private readonly db: ConsoleDatabase) {
    super();
  }

  async run([raw]: string[], options: OpLogOptions): Promise<void> {
    const id = operationId(raw);
    let after = integerFlag('--after', options.after, 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const store = await this.db.store();
    const print = (lines: LogLineView[]) =>
      this.print(lines, options.json === true, options.raw === true);

    if (!options.follow) {
      for (;;) {
        // A page may end early (its bytes are bounded too): only an empty one is the end.
        const lines = await this.page(store, id, after);
        if (lines.length === 0) return;
        await print(lines);
        after = lines[lines.length - 1].seq;
      }
    }

    let endedAt: number | undefined;
    let gapSince: number | undefined;
    for (;;) {
      // Status before lines: once it is final, the lines read next include all written before it.
      const progress = await store.progress(id);
      if (!progress) throw new CliError(`operation ${id} not found`);
      const read = await this.page(store, id, after);
      // Relay batches may commit out of order: wait a moment for a missing seq before skipping it.
      const gap = firstGap(read, after);
      let lines = read;
      if (gap < read.length) {
        gapSince ??= Date.now();
        if (Date.now() - gapSince < GAP_WAIT_MS) lines = read.slice(0, gap);
        else gapSince = undefined;
      } else {
        gapSince = undefined;
      }
      await print(lines);
      if (lines.length) after = lines[lines.length - 1].seq;
      if (lines.length === PAGE) continue;
      if (isTerminal(progress.status) && read.length === 0) {
        endedAt ??= Date.now();
        const complete = progress.lineCount === null || after >= progress.lineCount;
        if (complete || Date.now() - endedAt > LATE_LINES_MS) {
          await (options.json
            ? out(`${JSON.stringify({ status: progress.status })}\n`)
            : out(`-- ${progress.status}\n`));
          process.exitCode = progress.status === 'succeeded' ? 0 : 2;
          return;
        }
      }
      if (lines.length === 0) await sleep(POLL_MS);
    }
  }

  private async page(store: OperationStore, id: string, after: number): Promise<LogLineView[]> {
    const lines = await store.logAfter(id, after, PAGE);
    if (!lines) throw new CliError(`operation ${id} not found`);
    return lines;
  }

  private async print(lines: LogLineView[], json: boolean, raw: boolean): Promise<void> {
    for (const line of lines) {
      if (json) await out(`${JSON.stringify(line)}\n`);
      else {
        // What a task printed never drives the terminal unless asked for (--raw).
        const text = raw ? line.text : escapeControls(line.text);
        await write(line.stream === 'stderr' ? process.stderr : process.stdout, `${text}\n`);
      }
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
