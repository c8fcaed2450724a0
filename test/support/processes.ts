import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export type AppName = 'api' | 'relay' | 'dispatcher' | 'console';

export const repoRoot = resolve(__dirname, '..', '..', '..');

/** The catalogue and playbooks the tests run (CATALOGUE_DIR, PLAYBOOKS_DIR). */
export const fixtures = {
  catalogueDir: resolve(repoRoot, 'test', 'fixtures', 'catalogue'),
  playbooksDir: resolve(repoRoot, 'test', 'fixtures', 'playbooks'),
};

/** The compiled apps: `$AEGIR_DIST` (relative to the repository) when set, else `dist/`. */
export function appEntry(app: AppName): string {
  const dist = resolve(repoRoot, process.env.AEGIR_DIST || 'dist');
  return resolve(dist, 'apps', app, 'src', 'main.js');
}

/**
 * Extra node flags for every app process, from AEGIR_NODE_ARGS (space-separated), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where an app spends its time (NODE_OPTIONS
 * refuses --cpu-prof).
 */
function extraNodeArgs(): string[] {
  return (process.env.AEGIR_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
}

/** A real app process, its output kept for the test to read. */
export class AppProcess {
  readonly output: string[] = [];
  /** What the process wrote to stderr alone (also in `output`). */
  readonly errors: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(
    readonly app: AppName,
    env: NodeJS.ProcessEnv,
  ) {
    // the heap cap the README's start scripts use, and AEGIR_NODE_ARGS (e.g. `--cpu-prof`)
    this.child = spawn(
      process.execPath,
      ['--max-old-space-size=192', ...extraNodeArgs(), appEntry(app)],
      {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => this.output.push(chunk));
    }
    this.child.stderr!.on('data', (chunk: string) => this.errors.push(chunk));
    this.exited = new Promise((done) => this.child.on('exit', (code) => done(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Whether the process has not exited yet. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The signal that ended the process, if one did. */
  get signal(): NodeJS.Signals | null {
    return this.child.signalCode;
  }

  /** Sends a signal (SIGKILL, SIGTERM, …) without waiting for the exit. */
  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Resolves with the exit code, or throws when the process is still running after `timeoutMs`. */
  async waitForExit(timeoutMs = 20_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(
        () => fail(new Error(`${this.app} still running after ${timeoutMs} ms:\n${this.text()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The process's peak resident set size so far (VmHWM), in MiB; read it before it exits. */
  peakRssMiB(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    if (!match) throw new Error(`no VmHWM in /proc/${this.pid}/status`);
    return Math.round((Number(match[1]) / 1024) * 10) / 10;
  }

  text(): string {
    return this.output.join('');
  }

  stderr(): string {
    return this.errors.join('');
  }

  /** Resolves when the output contains `marker`; rejects if the process exits first. */
  async waitFor(marker: string, timeoutMs = 20_000): Promise<void> {
    const started = Date.now();
    let exitCode: number | null | undefined;
    void this.exited.then((code) => (exitCode = code));
    while (!this.text().includes(marker)) {
      if (exitCode !== undefined) {
        throw new Error(`${this.app} exited with ${exitCode} before "${marker}":\n${this.text()}`);
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `${this.app} did not print "${marker}" within ${timeoutMs} ms:\n${this.text()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited in time; resolves with the exit code. */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
