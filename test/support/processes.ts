import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export type AppName = 'api' | 'relay' | 'dispatcher' | 'console';

export const repoRoot = resolve(__dirname, '..', '..', '..');

export function appEntry(app: AppName): string {
  return resolve(repoRoot, 'dist', 'apps', app, 'src', 'main.js');
}

/** A real app process, its output kept for the test to read. */
export class AppProcess {
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(
    readonly app: AppName,
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, [appEntry(app)], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => this.output.push(chunk));
    }
    this.exited = new Promise((done) => this.child.on('exit', (code) => done(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  text(): string {
    return this.output.join('');
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
