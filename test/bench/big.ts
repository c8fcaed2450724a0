import { isTerminal, type OperationStatus } from '@app/contracts';
import type { Stack } from '../support/stack';
import { groupsOf } from './groups';
import { watchCpu, type CpuProfile } from './cpu';
import { secondsSince } from './limit';

/** One task printing a lot (test.big: lines of 1000 bytes), run alone on fresh apps. */
export interface BigFigures {
  megabytes: number;
  linesPrinted: number;
  /** The operation's line_count: printed lines plus the dispatcher's own. */
  lineCount: number;
  rowsStored: number;
  /** Rows holding a printed line, whole (999 characters). */
  printedLinesStored: number;
  everyLineStored: boolean;
  status: string;
  /** POST → operation ended and every line stored (polled every 200 ms). */
  seconds: number;
  linesPerSecond: number;
  megabytesPerSecond: number;
  /** VmHWM of relay and dispatcher restarted just before: the exact peak of this phase. */
  peakRssMiB: { relay: number; dispatcher: number };
  cpu: CpuProfile;
}

const LINE_BYTES = 1000;

export async function measureBig(stack: Stack, megabytes: number): Promise<BigFigures> {
  // VmHWM never goes down: fresh processes make it this phase's peak, not an earlier one's.
  for (const app of ['relay', 'dispatcher'] as const) {
    await stack.app(app).stop();
    await stack.startApp(app);
  }
  const linesPrinted = (megabytes * 1e6) / LINE_BYTES;
  const cpu = watchCpu(groupsOf(stack));
  const started = process.hrtime.bigint();
  const { id } = (await stack.createOperation('test.big', `big-${Date.now().toString(36)}`, {
    count: linesPrinted,
  })) as { id: string };
  const deadline = Date.now() + 1_800_000;
  let endedAt: number | undefined;
  let ended: { status: OperationStatus; line_count: string | null };
  for (;;) {
    [ended] = await stack.query(`SELECT status, line_count FROM operations WHERE id = $1`, [id]);
    // counting a million rows is work of its own: only once the operation has ended
    if (isTerminal(ended.status)) {
      endedAt ??= Date.now();
      const [stored] = await stack.query(
        `SELECT count(*)::bigint AS n FROM log_lines WHERE operation_id = $1`,
        [id],
      );
      if (Number(stored.n) >= Number(ended.line_count ?? Infinity)) break;
      if (Date.now() - endedAt > 60_000) break; // reported as not every line stored
    }
    if (Date.now() > deadline) throw new Error(`big: operation still ${ended.status} after 30 min`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const seconds = secondsSince(started);
  const profile = cpu.stop();
  const peakRssMiB = {
    relay: stack.app('relay').peakRssMiB(),
    dispatcher: stack.app('dispatcher').peakRssMiB(),
  };
  const [count] = await stack.query(
    `SELECT count(*)::bigint AS rows,
            count(*) FILTER (WHERE length(line) = $2)::bigint AS printed
       FROM log_lines WHERE operation_id = $1`,
    [id, LINE_BYTES - 1],
  );
  const rowsStored = Number(count.rows);
  const printedLinesStored = Number(count.printed);
  const lineCount = Number(ended.line_count); // bigint: pg hands it over as a string
  return {
    megabytes,
    linesPrinted,
    lineCount,
    rowsStored,
    printedLinesStored,
    everyLineStored: rowsStored === lineCount && printedLinesStored === linesPrinted,
    status: ended.status,
    seconds,
    linesPerSecond: linesPrinted / seconds,
    megabytesPerSecond: megabytes / seconds,
    peakRssMiB,
    cpu: profile,
  };
}
