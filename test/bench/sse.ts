import { Agent, request } from 'node:http';
import { Client } from 'pg';
import { LOG_CHANNEL } from '@app/database';
import type { Stack } from '../support/stack';
import { watchCpu, type CpuProfile } from './cpu';
import { groupsOf } from './groups';
import { readStatusMiB, readTimes, CLOCK_TICKS } from './proc';
import { percentiles, splitEvenly } from './stats';

/** The live log under load: many SSE streams on one api process while lines pour in. */
export interface SseFigures {
  streams: number;
  operations: number;
  ratePerSecond: number;
  seconds: number;
  /** Lines stored, all operations together. */
  linesStored: number;
  /** Lines the streams received, all together (each stored line once per stream following it). */
  linesDelivered: number;
  /** linesDelivered / (first line delivered → last line delivered). */
  deliveredPerSecond: number;
  /** Streams that ended without every stored line of their operation, or without `end`. */
  streamsBehind: number;
  /** Lines events received, all streams together, per stream and second. */
  eventsPerStreamSecond: number;
  /** From the first request sent to the last stream's response headers. */
  openSeconds: number;
  /** Committed (the bench's NOTIFY-driven read first saw the row) → delivered to a stream. */
  committedToDelivered: { p50Ms: number; p99Ms: number; maxMs: number; count: number };
  apiCpuShare: number;
  apiPeakRssMiB: number;
  /** From the first stream opened until every stream ended. */
  cpu: CpuProfile;
  measuredTo: string;
}

interface Follower {
  operation: string;
  /** The seq of the last line received. */
  last: number;
  ended: boolean;
  events: number;
}

/**
 * Opens `streams` live logs spread over `operations` test.rate operations (sharing `rate`
 * lines/s for `seconds`, after `delay` seconds of silence while the streams open), all on the
 * stack's one api process. A line's delivery time is when
 * its `lines` event arrived (its seqs are those after the previous id, up to this one: the
 * data is not parsed, so the bench's own CPU stays low); its committed time is when the
 * bench's own reader, woken by the relay's NOTIFY, first saw the row: an upper bound on the
 * commit, so the latency is if anything under-stated by one query. Only lines committed after
 * every stream had its response (was open) count for the latency; all count for completeness.
 */
export async function measureSse(
  stack: Stack,
  streams: number,
  operations: number,
  rate: number,
  seconds: number,
  delay: number,
): Promise<SseFigures> {
  const client = new Client({ connectionString: stack.db.url, application_name: 'aegir-bench' });
  await client.connect();
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const requests: ReturnType<typeof request>[] = [];
  try {
    /** Per operation: seq → ms when the bench first saw it. */
    const seen = new Map<string, number[]>();
    const lastSeen = new Map<string, number>();
    const dirty = new Set<string>();
    let working: Promise<void> | undefined;
    const readNew = async (id: string): Promise<void> => {
      const sentAt = Date.now();
      const { rows } = await client.query<{ seq: string }>(
        `SELECT seq FROM log_lines WHERE operation_id = $1 AND seq > $2 ORDER BY seq`,
        [id, lastSeen.get(id) ?? 0],
      );
      const times = seen.get(id) ?? [];
      for (const row of rows) times[Number(row.seq)] = sentAt;
      seen.set(id, times);
      if (rows.length > 0) lastSeen.set(id, Number(rows[rows.length - 1].seq));
    };
    const work = async (): Promise<void> => {
      while (dirty.size > 0) {
        const [id] = dirty;
        dirty.delete(id);
        await readNew(id);
      }
      working = undefined;
    };
    client.on('notification', ({ payload }) => {
      if (!payload || !seen.has(payload)) return;
      dirty.add(payload);
      working ??= work();
    });
    await client.query(`LISTEN ${LOG_CHANNEL}`);

    const runId = Date.now().toString(36);
    // created as one batch: their lines start as soon as each is claimed
    const created = await Promise.all(
      splitEvenly(rate, operations).map((each, i) =>
        stack.createOperation('test.rate', `sse-${runId}-${i}`, { rate: each, seconds, delay }),
      ),
    );
    const ids: string[] = created.map((operation: { id: string }) => operation.id);
    for (const id of ids) seen.set(id, []);

    const api = stack.app('api').pid;
    const cpu = watchCpu(groupsOf(stack));
    const cpuBefore = readTimes(api);
    const started = Date.now();
    let peakRss = readStatusMiB(api, 'VmRSS');
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, readStatusMiB(api, 'VmRSS'));
    }, 250);

    const latencies: number[] = [];
    let delivered = 0;
    let firstDelivery = Infinity;
    let lastDelivery = 0;
    let allOpenAt = Infinity;
    let opened = 0;
    const sendingAt = Date.now();
    const followers: Follower[] = [];
    const done: Promise<void>[] = [];
    for (let i = 0; i < streams; i++) {
      const follower: Follower = {
        operation: ids[i % ids.length],
        last: 0,
        ended: false,
        events: 0,
      };
      followers.push(follower);
      done.push(
        new Promise<void>((resolve) => {
          const times = () => seen.get(follower.operation) ?? [];
          const onEvent = (event: string, id: string | undefined): void => {
            if (event === 'end') {
              follower.ended = true;
              return;
            }
            if (event !== 'lines' || id === undefined) return;
            const now = Date.now();
            const upTo = Number(id);
            const committed = times();
            for (let seq = follower.last + 1; seq <= upTo; seq++) {
              const at = committed[seq];
              if (at !== undefined && at >= allOpenAt) latencies.push(now - at);
            }
            delivered += upTo - follower.last;
            follower.last = upTo;
            follower.events++;
            firstDelivery = Math.min(firstDelivery, now);
            lastDelivery = now;
          };
          const scan = frameScanner(onEvent);
          const sent = request(
            `${stack.apiUrl}/operations/${follower.operation}/log/stream`,
            { agent, headers: { authorization: `Bearer ${stack.token}` } },
            (response) => {
              if (++opened === streams) allOpenAt = Date.now();
              response.setEncoding('utf8');
              response.on('data', scan);
              response.on('end', resolve);
              response.on('error', () => resolve());
            },
          );
          sent.on('error', () => resolve());
          sent.end();
          requests.push(sent);
        }),
      );
    }
    const deadline = (delay + seconds) * 1000 + 120_000;
    await Promise.race([Promise.all(done), new Promise((r) => setTimeout(r, deadline))]);
    clearInterval(sampler);
    const cpuAfter = readTimes(api);
    const cpuProfile = cpu.stop();
    const wall = (Date.now() - started) / 1000;
    await working;
    for (const id of ids) await readNew(id);

    const stored = new Map<string, number>();
    for (const id of ids) stored.set(id, lastSeen.get(id) ?? 0);
    const behind = followers.filter((f) => !f.ended || f.last !== stored.get(f.operation)).length;
    const latency = percentiles(latencies);
    const cpuTicks =
      cpuBefore && cpuAfter
        ? cpuAfter.utime + cpuAfter.stime - cpuBefore.utime - cpuBefore.stime
        : 0;
    return {
      streams,
      operations,
      ratePerSecond: rate,
      seconds,
      linesStored: [...stored.values()].reduce((a, b) => a + b, 0),
      linesDelivered: delivered,
      deliveredPerSecond: delivered / Math.max((lastDelivery - firstDelivery) / 1000, 0.001),
      streamsBehind: behind,
      openSeconds: (Math.min(allOpenAt, Date.now()) - sendingAt) / 1000,
      eventsPerStreamSecond:
        followers.reduce((n, f) => n + f.events, 0) / streams / Math.max(wall, 0.001),
      committedToDelivered: {
        p50Ms: latency.p50,
        p99Ms: latency.p99,
        maxMs: latency.max,
        count: latency.count,
      },
      apiCpuShare: cpuTicks / CLOCK_TICKS / wall,
      apiPeakRssMiB: peakRss,
      cpu: cpuProfile,
      measuredTo:
        'from when the bench, woken by the relay’s NOTIFY, first saw the row to when its lines ' +
        'event reached the stream (same host clock); api CPU: utime+stime / wall (1 = one core)',
    };
  } finally {
    for (const sent of requests) sent.destroy();
    agent.destroy();
    await client.end();
  }
}

/**
 * The `event:` and `id:` of each SSE frame, fed chunk by chunk: the bench reads 1000 streams
 * on the same two cores as the stack, so it finds line ends natively (indexOf) and never
 * builds an event's data, which a full parser would copy.
 */
export function frameScanner(
  onEvent: (event: string, id: string | undefined) => void,
): (chunk: string) => void {
  let partial = '';
  let event = 'message';
  let id: string | undefined;
  return (chunk) => {
    const text = partial + chunk;
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      if (end === start) {
        onEvent(event, id);
        event = 'message';
        id = undefined;
      } else if (text.startsWith('event: ', start)) {
        event = text.slice(start + 7, end);
      } else if (text.startsWith('id: ', start)) {
        id = text.slice(start + 4, end);
      }
      start = end + 1;
    }
    // a data line cut in the middle is kept only as far as its field name tells
    const rest = text.slice(start);
    partial = rest.startsWith('data:') ? 'data:' : rest;
  };
}
