import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK_FILE = 'dispatcher.pid';
const LEFTOVER =
  /^(?:op|spill)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:-|$)/;

/**
 * Kills every process whose environment names one of these operations (tasks get
 * AEGIR_OPERATION_ID; their children inherit it). Linux: reads /proc.
 */
export async function killProcessesOf(operations: Set<string>): Promise<number[]> {
  const killed: number[] = [];
  const entries = await readdir('/proc').catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'latin1').catch(() => '');
    const match = /(?:^|\0)AEGIR_OPERATION_ID=([^\0]*)/.exec(environ);
    if (!match || !operations.has(match[1])) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
      killed.push(Number(entry));
    } catch {
      // already gone
    }
  }
  return killed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The dispatcher's work directory is its journal: a workspace or spill directory left in
 * it belongs to an operation it was running when it stopped without finishing. One
 * dispatcher process owns a work directory at a time (a pid file says which).
 */
export class WorkDir {
  constructor(readonly path: string) {}

  /** Takes the work directory; refuses when another live dispatcher holds it. */
  async lock(): Promise<void> {
    await mkdir(this.path, { recursive: true, mode: 0o700 });
    const lockPath = join(this.path, LOCK_FILE);
    const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
      throw new Error(
        `DISPATCHER_WORK_DIR ${this.path} is in use by dispatcher process ${holder}; give each dispatcher its own`,
      );
    }
    await writeFile(lockPath, `${process.pid}\n`, { mode: 0o600 });
  }

  async unlock(): Promise<void> {
    await rm(join(this.path, LOCK_FILE), { force: true });
  }

  /**
   * The operations earlier runs left unfinished here, after killing every process still
   * running for them (a task's process group outlives a dispatcher killed with -9). What
   * they left stays until `forget()`: an operation is forgotten only once it is reported.
   */
  async abandoned(): Promise<string[]> {
    const operations = new Set<string>();
    for (const entry of await readdir(this.path)) {
      const match = LEFTOVER.exec(entry);
      if (match) operations.add(match[1]);
    }
    if (operations.size > 0) await killProcessesOf(operations);
    return [...operations];
  }

  /** Removes what an earlier run left of one operation (its workspace, its spill files). */
  async forget(operationId: string): Promise<void> {
    for (const entry of await readdir(this.path)) {
      if (LEFTOVER.exec(entry)?.[1] === operationId) {
        await rm(join(this.path, entry), { recursive: true, force: true });
      }
    }
  }
}
