import { constants } from 'node:fs';
import { link, lstat, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir } from './private-dir';

const LOCK_FILE = 'dispatcher.pid';
/** Opens only a regular file that is there: never creates one, never follows a symlink. */
const READ_NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
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
 * The pid a lock file names (undefined when it names none) and its inode; null when there is
 * no lock file. A symlink or anything but a regular file is refused, never followed.
 */
async function readLock(
  lockPath: string,
  dir: string,
): Promise<{ holder: number | undefined; ino: number } | null> {
  let handle;
  try {
    handle = await open(lockPath, READ_NO_FOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') {
      throw new Error(
        `DISPATCHER_WORK_DIR ${dir}: ${LOCK_FILE} is a symbolic link; it is not followed: remove it`,
      );
    }
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new Error(`DISPATCHER_WORK_DIR ${dir}: ${LOCK_FILE} is not a regular file: remove it`);
    }
    const buffer = Buffer.alloc(32);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.toString('utf8', 0, bytesRead).trim();
    const pid = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
    return { holder: pid > 0 ? pid : undefined, ino: stats.ino };
  } finally {
    await handle.close();
  }
}

/**
 * The dispatcher's work directory is its journal: a workspace or spill directory left in
 * it belongs to an operation it was running when it stopped without finishing. One
 * dispatcher process owns a work directory at a time (a pid file says which).
 */
export class WorkDir {
  constructor(readonly path: string) {}

  /**
   * Takes the work directory; refuses when another live dispatcher holds it, or when the
   * directory is not private to this user (see ensurePrivateDir). The pid file appears
   * atomically, already holding the pid (written to a file of our own, then hard-linked into
   * place), and no symlink is ever followed. A lock whose process is gone is taken over.
   */
  async lock(): Promise<void> {
    await ensurePrivateDir('DISPATCHER_WORK_DIR', this.path);
    const lockPath = join(this.path, LOCK_FILE);
    const mine = join(this.path, `${LOCK_FILE}.${process.pid}`);
    await rm(mine, { force: true });
    const handle = await open(mine, CREATE_NEW, 0o600);
    try {
      await handle.writeFile(`${process.pid}\n`);
    } finally {
      await handle.close();
    }
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await link(mine, lockPath);
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
        }
        await this.removeStaleLock(lockPath);
      }
    } finally {
      await rm(mine, { force: true });
    }
  }

  /**
   * Removes the pid file if the process it names is gone, or throws if it is alive. Two
   * dispatchers may find the same stale file: the file is renamed away first and removed only
   * if it is still the one that was read, so a fresh lock of the other one is put back.
   */
  private async removeStaleLock(lockPath: string): Promise<void> {
    const found = await readLock(lockPath, this.path);
    if (!found) return; // gone meanwhile: try again
    const { holder, ino } = found;
    if (holder !== undefined && holder !== process.pid && alive(holder)) {
      throw new Error(
        `DISPATCHER_WORK_DIR ${this.path} is in use by dispatcher process ${holder}; give each dispatcher its own`,
      );
    }
    const aside = `${lockPath}.stale-${process.pid}`;
    try {
      await rename(lockPath, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if ((await lstat(aside)).ino !== ino) {
      // Another dispatcher's fresh lock: put it back (unless yet another appeared).
      await link(aside, lockPath).catch(() => undefined);
    }
    await unlink(aside);
  }

  /** Removes the pid file if it is still ours. */
  async unlock(): Promise<void> {
    const lockPath = join(this.path, LOCK_FILE);
    const found = await readLock(lockPath, this.path).catch(() => undefined);
    if (found?.holder === process.pid) await rm(lockPath, { force: true });
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
