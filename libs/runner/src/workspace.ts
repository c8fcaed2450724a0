import { chmod, mkdir, mkdtemp, open, rm, rmdir, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/**
 * A fresh private directory (0700) for one run's config files; removed when the run ends.
 *
 * One is made for every operation, so it takes few system calls (about 8 for a command task,
 * where a recursive mkdir and rm took 14 or more). They stay asynchronous: on a disk that
 * PostgreSQL keeps busy, a synchronous rmdir measured 4.5 ms of blocked event loop.
 */
export class Workspace {
  /** Files this workspace wrote and has not removed: removal needs no directory listing. */
  private readonly written = new Set<string>();

  private constructor(readonly path: string) {}

  /** Creates `root` if missing (0700), then a new unique directory `<root>/<prefix>XXXXXX` in it. */
  static async create(root: string, prefix: string): Promise<Workspace> {
    if (typeof root !== 'string' || root.length === 0) {
      throw new TypeError('workspace root must be a non-empty path');
    }
    if (typeof prefix !== 'string' || /[/\\\0]/.test(prefix) || prefix === '.' || prefix === '..') {
      throw new TypeError(`workspace prefix must be a plain name, got ${JSON.stringify(prefix)}`);
    }
    const template = resolve(root) + sep + prefix;
    let dir: string;
    try {
      dir = await mkdtemp(template);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(resolve(root), { recursive: true, mode: PRIVATE_DIR });
      dir = await mkdtemp(template);
    }
    // mkdtemp makes it 0700 less the umask; this makes it exactly 0700 whatever the umask.
    await chmod(dir, PRIVATE_DIR);
    return new Workspace(dir);
  }

  /**
   * Writes a new file directly in the workspace; fails if it exists (never follows a planted
   * symlink). The mode is applied before any content is written. Returns the absolute path.
   */
  async writeFile(name: string, content: string, mode = PRIVATE_FILE): Promise<string> {
    const file = this.filePath(name);
    const handle = await open(file, 'wx', mode);
    this.written.add(name);
    try {
      await handle.chmod(mode); // exactly `mode`, whatever the umask
      await handle.writeFile(content, 'utf8');
    } finally {
      await handle.close();
    }
    return file;
  }

  /** Removes a file of the workspace if it exists. */
  async removeFile(name: string): Promise<void> {
    await unlinkIfPresent(this.filePath(name));
    this.written.delete(name);
  }

  /** Removes the workspace and everything in it; safe to call twice. */
  async remove(): Promise<void> {
    // Usually it holds only what we wrote: unlink those, then the empty directory.
    try {
      for (const name of this.written) await unlinkIfPresent(join(this.path, name));
      this.written.clear();
      await rmdir(this.path);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // removed already
      // ENOTEMPTY: the task left files of its own.
    }
    await rm(this.path, { recursive: true, force: true });
  }

  private filePath(name: string): string {
    if (
      typeof name !== 'string' ||
      name.length === 0 ||
      name === '.' ||
      name === '..' ||
      /[/\\\0]/.test(name)
    ) {
      throw new TypeError(
        `workspace file name must be a plain file name, got ${JSON.stringify(name)}`,
      );
    }
    return join(this.path, name);
  }
}

async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
