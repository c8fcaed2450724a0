import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes `<role>.url` files (0600) into `dir` (made 0700 if missing): each to a new file
 * first (O_EXCL, so nothing there is followed), then renamed over the old one.
 */
export async function writeUrlFiles(
  dir: string,
  urls: { role: string; url: string }[],
): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const { role, url } of urls) {
    const file = join(dir, `${role}.url`);
    const temporary = join(dir, `.${role}.url.${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(temporary, `${url}\n`, { mode: 0o600, flag: 'wx' });
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    written.push(file);
  }
  return written;
}
