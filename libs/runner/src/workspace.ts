import { chmod, mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** A fresh private directory (0700) for one run's config files; removed when the run ends. */
export class Workspace {
  private constructor(readonly path: string) {}

  /** Creates `root` if missing (0700), then a new unique directory `<root>/<prefix>XXXXXX` in it. */
  static async create(root: string, prefix: string): Promise<Workspace> {
    if (typeof root !== 'string' || root.length === 0) {
      throw new TypeError('workspace root must be a non-empty path');
    }
    if (typeof prefix !== 'string' || /[/\\\0]/.test(prefix) || prefix === '.' || prefix === '..') {
      throw new TypeError(`workspace prefix must be a plain name, got ${JSON.stringify(prefix)}`);
    }
    const absoluteRoot = resolve(root);
    await mkdir(absoluteRoot, { recursive: true, mode: PRIVATE_DIR });
    const dir = await mkdtemp(absoluteRoot + sep + prefix);
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
    try {
      await handle.chmod(mode);
      await handle.writeFile(content, 'utf8');
    } finally {
      await handle.close();
    }
    return file;
  }

  /** Removes a file of the workspace if it exists. */
  async removeFile(name: string): Promise<void> {
    await rm(this.filePath(name), { force: true });
  }

  /** Removes the workspace and everything in it; safe to call twice. */
  async remove(): Promise<void> {
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
