import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK_FILE = 'dispatcher.pid';
const LEFTOVER =
  /^(?:op|spill)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:-|$)/;

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

  /** Removes what earlier runs left behind and returns the operations they were running. */
  async clearAbandoned(): Promise<string[]> {
    const operations = new Set<string>();
    for (const entry of await readdir(this.path)) {
      const match = LEFTOVER.exec(entry);
      if (!match) continue;
      operations.add(match[1]);
      await rm(join(this.path, entry), { recursive: true, force: true });
    }
    return [...operations];
  }
}
