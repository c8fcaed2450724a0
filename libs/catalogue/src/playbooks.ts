import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

const isInside = (dir: string, path: string): boolean => {
  const rel = relative(dir, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
};

const realpathOrUndefined = (path: string): string | undefined => {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
};

/**
 * Resolves a task's `playbook` against the playbooks directory: relative, no `..`, and the
 * file it lands on (after symlinks) is inside the directory. Returns the absolute path;
 * throws an Error whose message continues `tasks[0].playbook "x" ...`.
 */
export function resolvePlaybook(playbooksDir: string, playbook: string): string {
  if (playbook.includes('\0')) throw new Error('must not contain a NUL character');
  if (isAbsolute(playbook)) {
    throw new Error('is outside the playbooks directory (it must be a relative path)');
  }
  const path = resolve(playbooksDir, playbook);
  if (!isInside(playbooksDir, path) || playbook.split(/[\\/]/).includes('..')) {
    throw new Error('is outside the playbooks directory');
  }
  const realDir = realpathOrUndefined(playbooksDir);
  if (!realDir)
    throw new Error(`cannot be found: the playbooks directory ${playbooksDir} does not exist`);
  const realPath = realpathOrUndefined(path);
  if (!realPath) throw new Error(`does not exist in ${playbooksDir}`);
  if (!isInside(realDir, realPath)) {
    throw new Error('is outside the playbooks directory (through a symbolic link)');
  }
  if (!statSync(realPath).isFile()) throw new Error('is not a file');
  return path;
}
