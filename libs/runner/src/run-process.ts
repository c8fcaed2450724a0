import { statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { ANSI_MODES, type AnsiMode } from './ansi';
import { LineSplitter } from './line-splitter';
import { groupExists, signalGroup, trackGroup, untrackGroup } from './process-group';

export type OutputStream = 'stdout' | 'stderr';

export interface RunOptions {
  argv: string[];
  cwd: string;
  /** The complete environment: nothing of this process's own is added. */
  env: Record<string, string>;
  /** After this, the process group gets SIGTERM, then SIGKILL after `killGraceMs`. */
  timeoutMs: number;
  killGraceMs: number;
  maxLineLength?: number;
  /** `strip` removes ANSI escape sequences and control characters but TAB; default `keep`. */
  ansi?: AnsiMode;
  /**
   * Called for every line, in order per stream; a returned promise pauses that stream.
   * `continues` marks a piece of an over-long line that the next line of the stream continues.
   */
  onLine: (stream: OutputStream, text: string, continues: boolean) => void | Promise<void>;
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  outcome: 'exited' | 'timed_out' | 'cancelled' | 'spawn_failed';
  error?: string;
  durationMs: number;
}

export interface RunningProcess {
  readonly pid: number | undefined;
  /** Settles once the process exited and all its output went through `onLine`; never rejects. */
  readonly result: Promise<RunResult>;
  /** Stops the whole process group: SIGTERM, then SIGKILL after the grace period. */
  stop(reason: 'cancelled' | 'shutdown'): void;
}

/** setTimeout fires at once for longer delays. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How often to look whether a stopped group is gone (killed orphans wait for init to reap). */
const GROUP_POLL_MS = 50;

/**
 * Spawns argv (never through a shell) as the leader of a new process group and streams its
 * output line by line to `onLine`. Timeout and stop() kill the whole group.
 */
export function runProcess(options: RunOptions): RunningProcess {
  validateOptions(options);
  return new ProcessRun(options);
}

type StopOutcome = 'timed_out' | 'cancelled';

class ProcessRun implements RunningProcess {
  readonly pid: number | undefined;
  readonly result: Promise<RunResult>;

  private readonly startedAt = performance.now();
  private finished = false;
  private stopOutcome: StopOutcome | undefined;
  private stopError: string | undefined;
  private handlerError: string | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  /** Resolves once SIGKILL went to the group after a stop. */
  private killed: Promise<void> | undefined;

  constructor(private readonly options: RunOptions) {
    const [file, ...args] = options.argv;
    const subprocess = execa(file, args, {
      cwd: options.cwd,
      env: options.env,
      extendEnv: false,
      stdin: 'ignore',
      buffer: false,
      reject: false,
      detached: true,
      cleanup: true,
      stripFinalNewline: false,
      encoding: 'buffer',
    });
    this.pid = subprocess.pid;
    if (this.pid !== undefined) {
      trackGroup(this.pid);
      this.timeoutTimer = setTimeout(
        () => this.terminate('timed_out', `timed out after ${options.timeoutMs} ms`),
        Math.min(options.timeoutMs, MAX_TIMER_MS),
      );
    }
    this.result = this.supervise(subprocess);
  }

  stop(reason: 'cancelled' | 'shutdown'): void {
    this.terminate('cancelled', `stopped: ${reason}`);
  }

  private terminate(outcome: StopOutcome, error: string): void {
    const pid = this.pid;
    if (pid === undefined || this.finished || this.stopOutcome !== undefined) return;
    this.stopOutcome = outcome;
    this.stopError = error;
    clearTimeout(this.timeoutTimer);
    this.killed = new Promise((resolve) => {
      this.killTimer = setTimeout(
        () => {
          sendQuietly(pid, 'SIGKILL');
          resolve();
        },
        Math.min(this.options.killGraceMs, MAX_TIMER_MS),
      );
    });
    sendQuietly(pid, 'SIGTERM');
  }

  private async supervise(subprocess: ResultPromise): Promise<RunResult> {
    try {
      const [outcome] = await Promise.all([
        subprocess,
        this.pump(subprocess.stdout, 'stdout'),
        this.pump(subprocess.stderr, 'stderr'),
      ]);
      // The leader and the pipes are done, but after a stop a member of the group that closed
      // its output and ignores SIGTERM may still run: it gets the SIGKILL before we report.
      if (this.killed && this.pid !== undefined) await this.groupGone(this.pid, this.killed);
      return this.describe(outcome);
    } catch (error) {
      // reject: false means execa reports failures in its result; this is a safety net.
      return this.finish({
        exitCode: null,
        signal: null,
        outcome: 'spawn_failed',
        error: message(error),
      });
    } finally {
      this.cleanUp();
    }
  }

  /** Waits until no process of the group is left, or until the SIGKILL was sent. */
  private async groupGone(pid: number, killed: Promise<void>): Promise<void> {
    let sent = false;
    void killed.then(() => (sent = true));
    while (!sent && groupExists(pid)) {
      await Promise.race([killed, sleep(GROUP_POLL_MS)]);
    }
  }

  private describe(result: Awaited<ResultPromise>): RunResult {
    if (this.pid === undefined) {
      return this.finish({
        exitCode: null,
        signal: null,
        outcome: 'spawn_failed',
        error: this.spawnError(result),
      });
    }
    const exitCode = result.exitCode ?? null;
    const signal = result.signal ?? null;
    const errors = new Set([this.stopError, this.handlerError].filter((e) => e !== undefined));
    const error = errors.size > 0 ? [...errors].join('; ') : undefined;
    const outcome = this.stopOutcome ?? 'exited';
    return this.finish({ exitCode, signal, outcome, ...(error !== undefined && { error }) });
  }

  private spawnError(result: Awaited<ResultPromise>): string {
    const file = this.options.argv[0];
    const {
      code,
      originalMessage,
      message: fullMessage,
    } = result as {
      code?: string;
      originalMessage?: string;
      message?: string;
    };
    // spawn reports a missing cwd as ENOENT too.
    if (code === 'ENOENT' && isDirectory(this.options.cwd)) return `command not found: ${file}`;
    return originalMessage || fullMessage || `could not start ${file}`;
  }

  private finish(result: Omit<RunResult, 'durationMs'>): RunResult {
    return { ...result, durationMs: Math.round(performance.now() - this.startedAt) };
  }

  private cleanUp(): void {
    this.finished = true;
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.killTimer);
    if (this.pid !== undefined) untrackGroup(this.pid);
  }

  /** Reads one output stream to its end; a pending onLine promise holds the next read. */
  private async pump(stream: Readable | null, name: OutputStream): Promise<void> {
    if (!stream) return;
    const { maxLineLength, ansi } = this.options;
    const splitter = new LineSplitter({ maxLineLength, ansi });
    const lines = new PendingLines();
    try {
      for await (const chunk of stream) {
        splitter.push(chunk as Buffer, lines.add);
        await this.deliver(name, lines);
      }
    } catch {
      // A broken pipe ends the output; whatever was read is still delivered below.
    }
    splitter.end(lines.add);
    await this.deliver(name, lines);
  }

  private async deliver(name: OutputStream, lines: PendingLines): Promise<void> {
    const { texts, continued } = lines;
    for (let i = 0; i < texts.length; i++) {
      if (this.handlerError !== undefined) break;
      try {
        const pending = this.options.onLine(name, texts[i], continued[i]);
        if (pending !== undefined) await pending;
      } catch (error) {
        // Output that cannot be recorded must not run on unseen: stop the task, keep draining.
        this.handlerError = `output handler failed: ${message(error)}`;
        this.terminate('cancelled', this.handlerError);
      }
    }
    lines.clear();
  }
}

/** The lines of one chunk, waiting for delivery: two flat arrays keep the hot path lean. */
class PendingLines {
  readonly texts: string[] = [];
  readonly continued: boolean[] = [];

  readonly add = (text: string, continues: boolean): void => {
    this.texts.push(text);
    this.continued.push(continues);
  };

  clear(): void {
    this.texts.length = 0;
    this.continued.length = 0;
  }
}

function sendQuietly(pgid: number, signal: NodeJS.Signals): void {
  try {
    signalGroup(pgid, signal);
  } catch {
    // EPERM: the group id is no longer ours; there is nothing left to stop.
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function validateOptions(options: RunOptions): void {
  const { argv, timeoutMs, killGraceMs, maxLineLength } = options;
  if (!Array.isArray(argv) || argv.length === 0 || typeof argv[0] !== 'string' || argv[0] === '') {
    throw new TypeError('argv must be a non-empty array whose first element names the program');
  }
  if (!argv.every((arg) => typeof arg === 'string')) {
    throw new TypeError('argv must contain only strings');
  }
  if (typeof options.cwd !== 'string' || options.cwd === '') {
    throw new TypeError('cwd must be a non-empty path');
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError('timeoutMs must be a positive number');
  }
  if (!Number.isFinite(killGraceMs) || killGraceMs < 0) {
    throw new RangeError('killGraceMs must be zero or a positive number');
  }
  if (maxLineLength !== undefined && (!Number.isInteger(maxLineLength) || maxLineLength < 1)) {
    throw new RangeError('maxLineLength must be a positive integer');
  }
  if (options.ansi !== undefined && !ANSI_MODES.includes(options.ansi)) {
    throw new RangeError(
      `ansi must be one of ${ANSI_MODES.join(', ')}, got ${JSON.stringify(options.ansi)}`,
    );
  }
  if (typeof options.onLine !== 'function') throw new TypeError('onLine must be a function');
}
