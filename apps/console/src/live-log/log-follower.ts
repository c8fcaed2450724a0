import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal } from '@app/contracts';
import type { OperationStore } from '@app/database';
import { firstGap, followLog, redactUrl, SseHttpError } from '@app/platform';
import { CliError } from '../cli-error';
import { ConsoleDatabase } from '../console-database';
import { ApiClientSettings } from './api-client.settings';
import { printEnd, printLines, type PrintOptions } from './log-printer';

const PAGE = 1000;
const POLL_MS = 200;
/** After the final status, how long to wait for lines the dispatcher said it sent. */
const LATE_LINES_MS = 5000;
/** How long a missing seq may hold back the lines after it. */
const GAP_WAIT_MS = 2000;

/**
 * Prints an operation's log as it comes, until the operation ends, and gives its final status.
 * With AEGIR_API_URL (and AEGIR_API_TOKEN) set it follows the api's live log over SSE (resumed
 * with Last-Event-ID if the connection breaks); otherwise it polls the database.
 */
@Injectable()
export class LogFollower {
  constructor(
    private readonly db: ConsoleDatabase,
    private readonly api: ApiClientSettings,
  ) {}

  async follow(id: string, after: number, print: PrintOptions): Promise<string> {
    return this.api.url === undefined
      ? this.fromDatabase(await this.db.store(), id, after, print)
      : this.overApi(this.api.url, id, after, print);
  }

  private async overApi(
    apiUrl: string,
    id: string,
    after: number,
    print: PrintOptions,
  ): Promise<string> {
    const token = this.api.token;
    if (!token) throw new CliError('AEGIR_API_URL is set: AEGIR_API_TOKEN must be too');
    const url = apiUrl.replace(/\/+$/, '');
    try {
      for await (const event of followLog({
        apiUrl: url,
        token,
        operationId: id,
        after,
        onReconnect: (attempt, last, reason) => {
          if (process.stderr.isTTY) {
            process.stderr.write(`-- ${reason}; reconnecting after line ${last ?? after}\n`);
          }
        },
      })) {
        if (event.kind === 'lines') await printLines(event.lines, print);
        else if (event.kind === 'end') {
          await printEnd(event.end.status, print, print.json ? { ...event.end } : {});
          return event.end.status;
        }
      }
    } catch (error) {
      if (error instanceof SseHttpError) {
        if (error.status === 404) throw new CliError(`operation ${id} not found`);
        throw new CliError(
          `the api at ${redactUrl(url)} answered ${error.status}: ${apiMessage(error.body)}`,
        );
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new CliError(`cannot follow the live log at ${redactUrl(url)}: ${reason}`);
    }
    throw new CliError(`the live log of operation ${id} ended without its end event`);
  }

  private async fromDatabase(
    store: OperationStore,
    id: string,
    after: number,
    print: PrintOptions,
  ): Promise<string> {
    let endedAt: number | undefined;
    let gapSince: number | undefined;
    for (;;) {
      // Status before lines: once it is final, the lines read next include all written before it.
      const progress = await store.progress(id);
      if (!progress) throw new CliError(`operation ${id} not found`);
      const read = await store.logAfter(id, after, PAGE);
      if (!read) throw new CliError(`operation ${id} not found`);
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
      await printLines(lines, print);
      if (lines.length) after = lines[lines.length - 1].seq;
      if (lines.length === PAGE) continue;
      if (isTerminal(progress.status) && read.length === 0) {
        endedAt ??= Date.now();
        const complete = progress.lineCount === null || after >= progress.lineCount;
        if (complete || Date.now() - endedAt > LATE_LINES_MS) {
          await printEnd(progress.status, print);
          return progress.status;
        }
      }
      if (lines.length === 0) await sleep(POLL_MS);
    }
  }
}

/** The `message` of the api's JSON error answer, else the body as it came. */
function apiMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
    if (parsed.message !== undefined) return JSON.stringify(parsed.message);
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}
