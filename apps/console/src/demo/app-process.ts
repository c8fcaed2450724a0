import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';

/** How every long-running app is started: a heap cap keeps its memory bounded under a flood. */
export const NODE_FLAGS = ['--max-old-space-size=192'];

/** The compiled entry point of an app, next to this compiled file's own app. */
export function appEntry(app: 'api' | 'relay' | 'dispatcher'): string {
  return resolve(__dirname, '..', '..', '..', app, 'src', 'main.js');
}

/** One app started for the demo; its output goes to `<logDir>/<app>.log`. */
export class AppProcess {
  private readonly child: ChildProcess;
  private output = '';
  readonly exited: Promise<number | null>;
  readonly logFile: string;

  constructor(
    readonly app: 'api' | 'relay' | 'dispatcher',
    env: NodeJS.ProcessEnv,
    logDir: string,
  ) {
    this.logFile = join(logDir, `${app}.log`);
    const log = createWriteStream(this.logFile);
    this.child = spawn(process.execPath, [...NODE_FLAGS, appEntry(app)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.on('data', (chunk: Buffer) => {
        log.write(chunk);
        if (this.output.length < 1_000_000) this.output += chunk.toString('utf8');
      });
    }
    this.exited = new Promise((done) =>
      this.child.on('exit', (code) => {
        log.end();
        done(code);
      }),
    );
  }

  async waitUntilReady(timeoutMs = 30_000): Promise<void> {
    const marker = `${this.app} ready`;
    const deadline = Date.now() + timeoutMs;
    let exit: number | null | undefined;
    void this.exited.then((code) => (exit = code));
    while (!this.output.includes(marker)) {
      if (exit !== undefined) {
        throw new Error(
          `${this.app} exited (${exit}) while starting; see ${this.logFile}:\n${this.output.slice(-2000)}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`${this.app} not ready after ${timeoutMs} ms; see ${this.logFile}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(kill);
    }
  }
}
