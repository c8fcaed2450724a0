import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { ensureServicesUp } from '../support/services';
import { Stack, type StackOptions } from '../support/stack';
import { processesWith, type OperationFacts } from './checks';
import { appendRow, type ReportRow } from './report';

/**
 * Short limits, so that a silent dispatcher is noticed in seconds: lost after 3 s of
 * silence, checked every 0.5 s; heartbeats every 0.5 s; 1 s from TERM to KILL. A claim is
 * asked again after 1 s without an answer: well inside the lost limit, as the defaults are
 * (10 s and 60 s); a claim granted but not yet answered is in no heartbeat.
 */
export const FAULT_ENV = {
  relay: { RELAY_LOST_AFTER_MS: '3000', RELAY_LOST_CHECK_MS: '500' },
  dispatcher: {
    DISPATCHER_HEARTBEAT_MS: '500',
    DISPATCHER_KILL_GRACE_MS: '1000',
    DISPATCHER_CLAIM_TIMEOUT_MS: '1000',
  },
} as const;

export const LOST_AFTER_MS = Number(FAULT_ENV.relay.RELAY_LOST_AFTER_MS);
export const LOST_CHECK_MS = Number(FAULT_ENV.relay.RELAY_LOST_CHECK_MS);
export const KILL_GRACE_MS = Number(FAULT_ENV.dispatcher.DISPATCHER_KILL_GRACE_MS);

/**
 * One fault scenario at a time on this machine, whichever checkout or build runs it: they
 * stop the shared PostgreSQL and RabbitMQ. Held by this test process until stopFaultStack.
 */
const LOCK_FILE = join(tmpdir(), 'aegir-faults.lock');

async function acquireSuiteLock(timeoutMs = 15 * 60_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      await writeFile(LOCK_FILE, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(LOCK_FILE, 'utf8').catch(() => '')).trim());
    if (holder === process.pid) return;
    if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
      await rm(LOCK_FILE, { force: true });
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`${LOCK_FILE}: another fault scenario (pid ${holder}) still runs`);
    }
    await sleep(500);
  }
}

async function releaseSuiteLock(): Promise<void> {
  const holder = Number((await readFile(LOCK_FILE, 'utf8').catch(() => '')).trim());
  if (holder === process.pid) await rm(LOCK_FILE, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A Stack of its own (database `aegir_faults_*`, vhost of the same name) with the fault
 * limits, once no other fault scenario runs.
 */
export async function startFaultStack(options: StackOptions = {}): Promise<Stack> {
  await acquireSuiteLock();
  return Stack.start({
    prefix: 'aegir_faults',
    ...options,
    env: {
      ...options.env,
      relay: { ...FAULT_ENV.relay, ...options.env?.relay },
      dispatcher: { ...FAULT_ENV.dispatcher, ...options.env?.dispatcher },
    },
  });
}

/**
 * Stops the stack, then kills what its tasks left running: a scenario that failed half-way
 * (or killed its dispatcher with -9) must not leave processes behind for the next one.
 */
export async function stopFaultStack(stack: Stack | undefined): Promise<void> {
  if (!stack) return releaseSuiteLock();
  await stack.stop();
  for (const process of await processesWith(`AEGIR_STATE_DIR=${stack.stateDir}`)) {
    try {
      globalThis.process.kill(Number(process.split(' ')[0]), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await releaseSuiteLock();
}

/**
 * A scenario's stack: started before its tests; after them the services are brought back
 * if the scenario left one stopped, the stack is stopped and its leftovers killed. What it
 * returns stands for the stack once started: use it in tests and later hooks.
 */
export function useFaultStack(options: StackOptions = {}): Stack {
  let started: Stack | undefined;
  before(async () => {
    started = await startFaultStack(options);
  });
  after(async () => {
    await ensureServicesUp();
    await stopFaultStack(started);
  });
  return new Proxy({} as Stack, {
    get(_unstarted, property) {
      if (!started) throw new Error('the fault stack is used before it started');
      const value: unknown = Reflect.get(started, property, started);
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}

/** What one scenario adds up to, for its row of the report. */
export class Tally {
  private readonly operations: OperationFacts[] = [];
  peakRssMiB?: Record<string, number>;
  notes: string[] = [];

  /** Counts operations once each (the last facts read win). */
  add(...facts: OperationFacts[]): void {
    for (const fact of facts) {
      const index = this.operations.findIndex((known) => known.id === fact.id);
      if (index === -1) this.operations.push(fact);
      else this.operations[index] = fact;
    }
  }

  note(text: string): void {
    this.notes.push(text);
  }

  row(scenario: string, seconds: number, result: ReportRow['result']): ReportRow {
    const sum = (pick: (facts: OperationFacts) => number) =>
      this.operations.reduce((total, facts) => total + pick(facts), 0);
    return {
      scenario,
      emitted: sum((facts) => facts.lineCount ?? 0),
      stored: sum((facts) => facts.stored),
      duplicates: sum((facts) => facts.duplicates),
      statuses: this.operations.map((facts) => facts.status),
      seconds: Math.round(seconds * 10) / 10,
      result,
      ...(this.peakRssMiB && { peakRssMiB: this.peakRssMiB }),
      ...(this.notes.length > 0 && { note: this.notes.join('; ') }),
    };
  }
}

/** Runs a scenario's body and appends its row to the report, failed or not. */
export async function runScenario(
  name: string,
  body: (tally: Tally) => Promise<void>,
): Promise<void> {
  const started = performance.now();
  const tally = new Tally();
  let result: ReportRow['result'] = 'FAIL';
  try {
    await body(tally);
    result = 'pass';
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    tally.note(`FAILED: ${message.split('\n')[0].slice(0, 300)}`);
    throw error;
  } finally {
    await appendRow(tally.row(name, (performance.now() - started) / 1000, result));
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rows stored so far for an operation. */
export async function storedCount(stack: Stack, id: string): Promise<number> {
  const [row] = await stack.query(
    `SELECT count(*)::int AS n FROM log_lines WHERE operation_id = $1`,
    [id],
  );
  return row.n as number;
}

/** Waits until at least `lines` lines of the operation are stored: output is flowing. */
export async function waitForLines(
  stack: Stack,
  id: string,
  lines: number,
  timeoutMs = 60_000,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    const stored = await storedCount(stack, id).catch(() => 0);
    if (stored >= lines) return stored;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`only ${stored} of ${lines} lines of ${id} stored after ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}
