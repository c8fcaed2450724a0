import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal } from '@app/contracts';
import type { OperationStore } from '@app/database';
import { firstGap, followLog, redactUrl, SseHttpError } from '@app/platform';
import { CliError } from '../cli-error';
import { apiRefusal } from '../remote/api-client';
import { printEnd, printLines, type PrintOptions } from './log-printer';

const PAGE = 1000;
const POLL_MS = 200;
/** After the final status, how long to wait for lines the dispatcher said it sent. */
const LATE_LINES_MS = 5000;
/** How long a missing seq may hold back the lines after it. */
const GAP_WAIT_MS = 2000;

/**
 * Prints an operation's log as it comes, until the operation ends, and gives its final status:
 * over the api's live log (SSE, resumed with Last-Event-ID if the connection breaks), or by
 * polling the database. Which one is the Operations gateway's choice (HttpOperations,
 * DatabaseOperations).
 */
@Injectable()
export class LogFollower {
  /** Follows GET {apiUrl}/operations/:id/log/stream; `apiUrl` includes `/api/v1`. */
  async overApi(
    apiUrl: string,
    token: string,
    id: string,
    after: number,
    print: PrintOptions,
  ): Promise<string> {
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
        throw apiRefusal(
          error.status,
          error.body,
          redactUrl(url),
          `GET /operations/${id}/log/stream`,
        );
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new CliError(`cannot follow the live log at ${redactUrl(url)}: ${reason}`);
    }
    throw new CliError(`the live log of operation ${id} ended without its end event`);
  }

  async fromDatabase(
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
