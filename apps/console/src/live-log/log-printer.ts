import { escapeControls, type LiveLine } from '@app/platform';
import { out, write } from '../output';

export interface PrintOptions {
  json: boolean;
  raw: boolean;
}

/** Prints log lines: stderr lines on stderr, control characters escaped unless `raw`; or JSON. */
export async function printLines(lines: readonly LiveLine[], options: PrintOptions): Promise<void> {
  for (const line of lines) {
    if (options.json) await out(`${JSON.stringify(line)}\n`);
    else {
      // What a task printed never drives the terminal unless asked for (--raw).
      const text = options.raw ? line.text : escapeControls(line.text);
      await write(line.stream === 'stderr' ? process.stderr : process.stdout, `${text}\n`);
    }
  }
}

/** The last line of a followed log: `-- STATUS`, or `{"status": …}` with --json. */
export async function printEnd(
  status: string,
  options: PrintOptions,
  extra: object = {},
): Promise<void> {
  await (options.json ? out(`${JSON.stringify({ status, ...extra })}\n`) : out(`-- ${status}\n`));
}
