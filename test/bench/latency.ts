import { TERMINAL_STATUSES } from '@app/contracts';
import { Stack } from '../support/stack';
import { watchCpu, type CpuProfile } from './cpu';
import { groupsOf } from './groups';
import { percentiles } from './stats';

/** POST → first task marked running, at a steady rate of operation creation. */
export interface LatencyFigures {
  operations: number;
  ratePerSecond: number;
  achievedRatePerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  measuredTo: string;
  /** From the first POST until every operation ended. */
  cpu: CpuProfile;
}

export async function measureStartLatency(
  stack: Stack,
  operations: number,
  ratePerSecond: number,
): Promise<LatencyFigures> {
  const runId = Date.now().toString(36);
  const cpu = watchCpu(groupsOf(stack));
  const begin = Date.now();
  const posted: Promise<{ id: string; postedAt: number }>[] = [];
  for (let i = 0; i < operations; i++) {
    const due = begin + (i * 1000) / ratePerSecond;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const postedAt = Date.now();
    const post = stack
      .createOperation('test.echo', `latency-${runId}-${i}`, { message: `op ${i}` })
      .then((operation: { id: string }) => ({ id: operation.id, postedAt }));
    post.catch(() => undefined); // a failure surfaces from Promise.all below, not as unhandled
    posted.push(post);
  }
  const sent = await Promise.all(posted);
  const achievedRatePerSecond = operations / ((Date.now() - begin) / 1000);
  const ids = sent.map(({ id }) => id);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [row] = await stack.query(
      `SELECT count(*)::int AS ended FROM operations WHERE id = ANY($1) AND status = ANY($2)`,
      [ids, TERMINAL_STATUSES],
    );
    if (row.ended === ids.length) break;
    if (Date.now() > deadline)
      throw new Error(`latency: ${row.ended}/${ids.length} ended after 120 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const profile = cpu.stop();
  const rows = await stack.query(
    `SELECT operation_id, started_at FROM tasks WHERE operation_id = ANY($1) AND position = 0`,
    [ids],
  );
  const startedAt = new Map(rows.map((row) => [row.operation_id, row.started_at as Date | null]));
  const latencies = percentiles(
    sent.map(({ id, postedAt }) => {
      const started = startedAt.get(id);
      if (!started) throw new Error(`latency: operation ${id} has no task started_at`);
      return started.getTime() - postedAt;
    }),
  );
  return {
    operations,
    ratePerSecond,
    achievedRatePerSecond,
    p50Ms: latencies.p50,
    p95Ms: latencies.p95,
    p99Ms: latencies.p99,
    maxMs: latencies.max,
    measuredTo:
      "the task's started_at: the dispatcher's timestamp on its 'running' event, taken just " +
      'before the workspace files are written and the process spawned (ms resolution, same host clock)',
    cpu: profile,
  };
}
