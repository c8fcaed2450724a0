import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CatalogueError, loadCatalogue } from '@app/catalogue';
import { runCli } from '../support/cli';
import { catalogueCases, type CatalogueCase } from './cases/catalogue-cases';

interface Dirs {
  dir: string;
  playbooksDir: string;
}

const made: string[] = [];

async function writeAll(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), text);
  }
}

/** A catalogue directory, a playbooks directory and one beside them, as the case wants. */
async function layOut(testCase: CatalogueCase): Promise<Dirs> {
  const root = await mkdtemp(join(tmpdir(), 'aegir-hostile-catalogue-'));
  made.push(root);
  const dirs = { dir: join(root, 'catalogue'), playbooksDir: join(root, 'playbooks') };
  const outside = join(root, 'outside');
  await mkdir(dirs.playbooksDir);
  await mkdir(outside);
  await writeAll(dirs.playbooksDir, { 'site.yml': '- hosts: all\n', ...testCase.playbooks });
  await writeAll(outside, testCase.outsideFiles ?? {});
  if (testCase.dir === 'missing') return dirs;
  if (testCase.dir === 'file') {
    await writeFile(dirs.dir, 'not a directory\n');
    return dirs;
  }
  await mkdir(dirs.dir);
  await writeAll(dirs.dir, testCase.files ?? {});
  for (const link of testCase.links ?? []) {
    const at = join(link.in === 'catalogue' ? dirs.dir : dirs.playbooksDir, link.at);
    await symlink(link.to.replace('{outside}', outside), at);
  }
  return dirs;
}

/** The load error as `aegir` prints it: `error: ` and the same message. */
const asPrinted = (expect: RegExp): RegExp =>
  new RegExp(expect.source.replace(/^\^/, '^error: '), `${expect.flags}m`);

/**
 * Every hostile catalogue file of the table, loaded by `loadCatalogue` from a directory of
 * its own: a CatalogueError naming the file and the field. The cases marked `console` are
 * loaded by the built `aegir` too, which must print the same and exit 1 before it
 * connects to anything.
 */
describe('hostile input: catalogue files', () => {
  after(async () => {
    await Promise.all(made.map((root) => rm(root, { recursive: true, force: true })));
  });

  for (const testCase of catalogueCases) {
    it(`${testCase.name}: refused`, async () => {
      const dirs = await layOut(testCase);
      let thrown: unknown;
      try {
        loadCatalogue(dirs);
      } catch (error) {
        thrown = error;
      }
      assert.ok(thrown instanceof CatalogueError, `a CatalogueError, got ${String(thrown)}`);
      assert.match(thrown.message, testCase.expect);
    });

    if (testCase.console) {
      it(`${testCase.name}: refused by aegir op:create`, async () => {
        const dirs = await layOut(testCase);
        const result = await runCli(['op:create', 'hostile.base', '--target', 'web1'], {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          CATALOGUE_DIR: dirs.dir,
          PLAYBOOKS_DIR: dirs.playbooksDir,
          // nothing listens there: the catalogue must be refused before any connection
          DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none',
          AMQP_URL: 'amqp://nobody:nothing@127.0.0.1:9/',
        });
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stderr, asPrinted(testCase.expect));
        assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
      });
    }
  }
});
