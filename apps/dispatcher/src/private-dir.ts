import { lstat, mkdir, chmod } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

const PRIVATE_DIR = 0o700;
/** Write bits for the group and for others. */
const WRITABLE_BY_OTHERS = 0o022;

/**
 * Where the dispatcher keeps its directories unless told otherwise: per user, never a fixed
 * name in a shared /tmp. `$XDG_STATE_HOME/aegir` when that is an absolute path (the XDG rule),
 * else `~/.local/state/aegir`.
 */
export function defaultStateRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  return xdg && isAbsolute(xdg) ? join(xdg, 'aegir') : join(homedir(), '.local', 'state', 'aegir');
}

/** A directory the dispatcher may not use; the message names the variable, the path and the rule. */
export class UnsafeDirectoryError extends Error {
  constructor(variable: string, path: string, problem: string) {
    super(
      `${variable} ${path} ${problem}: it must be a directory of the user the dispatcher runs as, ` +
        'writable by no one else (chmod 0700)',
    );
    this.name = 'UnsafeDirectoryError';
  }
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;

/**
 * Makes `path` (and its missing parents) 0700, or checks the directory that is there: a real
 * directory (not a symbolic link), owned by this process's user and writable by neither its
 * group nor others. Anything else is refused: another user could plant or swap what the
 * dispatcher writes there (workspaces, vars files, the pid lock).
 */
export async function ensurePrivateDir(variable: string, path: string): Promise<void> {
  const made = await mkdir(path, { recursive: true, mode: PRIVATE_DIR });
  // mkdir's mode is less the umask: exactly 0700 for the directory we made.
  if (made !== undefined) await chmod(path, PRIVATE_DIR);
  const stats = await lstat(path);
  if (stats.isSymbolicLink()) {
    throw new UnsafeDirectoryError(variable, path, 'is a symbolic link');
  }
  if (!stats.isDirectory()) throw new UnsafeDirectoryError(variable, path, 'is not a directory');
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new UnsafeDirectoryError(
      variable,
      path,
      `is owned by uid ${stats.uid}, not by uid ${uid} that runs the dispatcher`,
    );
  }
  if ((stats.mode & WRITABLE_BY_OTHERS) !== 0) {
    throw new UnsafeDirectoryError(
      variable,
      path,
      `is writable by its group or by others (mode ${octal(stats.mode)})`,
    );
  }
}
