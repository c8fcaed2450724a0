import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';

/** How a command ended; a command that could not start has code null and says why in stderr. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Everything machine preparation does to the machine, so that its decisions can be
 * followed without doing them.
 */
export interface MachineHost {
  isRoot(): boolean;
  /** Runs a program with an argument array (never a shell); resolves however it ends. */
  run(
    file: string,
    args: readonly string[],
    options: { timeoutMs: number; env?: Record<string, string> },
  ): Promise<CommandResult>;
  /** The executable's path when it is in one of the `path` directories. */
  which(command: string, path: string): Promise<string | undefined>;
  isExecutable(file: string): Promise<boolean>;
  /** The entries of a directory; none when it does not exist. */
  list(dir: string): Promise<string[]>;
  /** Whether something accepts TCP connections there within the time. */
  answers(host: string, port: number, timeoutMs: number): Promise<boolean>;
  sleep(ms: number): Promise<void>;
  say(line: string): void;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const realHost: MachineHost = {
  isRoot: () => process.getuid?.() === 0,

  run: (file, args, { timeoutMs, env }) =>
    new Promise((resolve) => {
      execFile(
        file,
        [...args],
        {
          timeout: timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: 16 * 1024 * 1024,
          env: env ? { ...process.env, ...env } : process.env,
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
          const why = error && code === null ? `${error.message}\n` : '';
          resolve({ code, stdout: String(stdout), stderr: why + String(stderr) });
        },
      );
    }),

  async which(command, path) {
    for (const dir of path.split(delimiter).filter(Boolean)) {
      const file = join(dir, command);
      if (await isExecutable(file)) return file;
    }
    return undefined;
  },

  isExecutable,

  list: (dir) => readdir(dir).catch(() => []),

  answers: (host, port, timeoutMs) =>
    new Promise((resolve) => {
      const socket = connect({ host, port, timeout: timeoutMs });
      const done = (up: boolean) => {
        socket.destroy();
        resolve(up);
      };
      socket.once('connect', () => done(true));
      socket.once('timeout', () => done(false));
      socket.once('error', () => done(false));
    }),

  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),

  say: (line) => console.log(line),
};
