import { Command, CommandRunner, Option } from 'nest-commander';
import { BAD_INPUT, CliError } from '../cli-error';
import { Doctor, type CheckLine } from '../doctor/doctor';
import { formatDuration } from '../format';
import { out, printJson } from '../output';

interface DoctorOptions {
  timeout?: string;
  json?: boolean;
}

/** `30s`, `2m`, `500ms` or a number of seconds → milliseconds, from 1 s to 1 h. */
export function parseTimeout(raw: string | undefined): number {
  if (raw === undefined) return 30_000;
  const match = /^(\d{1,7})(ms|s|m)?$/.exec(raw.trim());
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };
  const ms = match ? Number(match[1]) * (units[match[2] ?? 's'] ?? NaN) : NaN;
  if (!(ms >= 1000 && ms <= 3_600_000)) {
    throw new CliError(
      `--timeout must be a duration from 1s to 60m, like 30s, 2m or 1500ms, got ${JSON.stringify(raw)}`,
      BAD_INPUT,
    );
  }
  return ms;
}

/** On a terminal, what the probe waits for, rewritten on one stderr line every 250 ms. */
class ProgressLine {
  private shown = false;
  private readonly timer?: NodeJS.Timeout;

  constructor(text: () => string | undefined) {
    if (!process.stderr.isTTY) return;
    this.timer = setInterval(() => {
      const now = text();
      if (now === undefined) return;
      process.stderr.write(`\r\x1b[K${now}`);
      this.shown = true;
    }, 250);
  }

  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }
}

@Command({
  name: 'doctor',
  description:
    'Check the database, the broker and the catalogue, then send one aegir.probe operation through the relay and a dispatcher and back, naming the hop that fails (exit 0 all ok, 1 a check failed)',
})
export class DoctorCommand extends CommandRunner {
  constructor(private readonly doctor: Doctor) {
    super();
  }

  async run(_args: string[], options: DoctorOptions): Promise<void> {
    const timeoutMs = parseTimeout(options.timeout);
    const started = Date.now();
    const lines: CheckLine[] = [];
    const progress = new ProgressLine(() => {
      const waiting = this.doctor.waitingFor;
      return waiting
        ? `waiting for ${waiting.what} (${formatDuration(Date.now() - waiting.since)})`
        : undefined;
    });
    try {
      for await (const line of this.doctor.run(timeoutMs)) {
        lines.push(line);
        if (!options.json) {
          progress.clear();
          await out(
            `${line.outcome.padEnd(4)}  ${line.check.padEnd(9)}  ${line.detail} (${formatDuration(line.ms)})\n`,
          );
        }
      }
    } finally {
      progress.stop();
    }
    const failed = lines.filter((line) => line.outcome === 'FAIL').length;
    const ms = Date.now() - started;
    if (options.json) {
      await printJson({ ok: failed === 0, ms, checks: lines });
    } else {
      await out(
        failed === 0
          ? `all checks passed in ${formatDuration(ms)}\n`
          : `${failed} check${failed === 1 ? '' : 's'} failed (${formatDuration(ms)})\n`,
      );
    }
    if (failed > 0) process.exitCode = 1;
    // A service that never answered may leave a socket open: exit anyway, soon after the report.
    setTimeout(() => process.exit(), 2000).unref();
  }

  @Option({
    flags: '--timeout <duration>',
    description:
      'the most the whole run may take, e.g. 30s (default), 2m; the database and broker checks get at most 10s each',
  })
  parseTimeout(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print the report as one JSON object' })
  parseJson(): boolean {
    return true;
  }
}
