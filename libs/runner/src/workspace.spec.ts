import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Workspace } from './workspace';

describe('Workspace', () => {
  let base: string;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'aegir-ws-spec-'));
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('creates a missing root with mode 0700 and a private directory inside it', async () => {
    const root = join(base, 'missing', 'root');
    const workspace = await Workspace.create(root, 'op-');
    assert.equal(dirname(workspace.path), root);
    assert.match(workspace.path, /\/op-[^/]+$/);
    assert.equal((await stat(root)).mode & 0o777, 0o700);
    assert.equal((await stat(workspace.path)).mode & 0o777, 0o700);
    assert.ok((await stat(workspace.path)).isDirectory());
  });

  it('gives every workspace its own directory', async () => {
    const first = await Workspace.create(base, 'same-');
    const second = await Workspace.create(base, 'same-');
    assert.notEqual(first.path, second.path);
  });

  it('rejects a prefix that is a path', async () => {
    await assert.rejects(Workspace.create(base, '../escape-'), /prefix/);
  });

  it('writes a file with mode 0600 by default and returns its absolute path', async () => {
    const workspace = await Workspace.create(base, 'files-');
    const file = await workspace.writeFile('vars.json', '{"a":1}');
    assert.equal(file, join(workspace.path, 'vars.json'));
    assert.equal(await readFile(file, 'utf8'), '{"a":1}');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('applies an explicit mode', async () => {
    const workspace = await Workspace.create(base, 'mode-');
    const file = await workspace.writeFile('run.sh', 'echo', 0o700);
    assert.equal((await stat(file)).mode & 0o777, 0o700);
  });

  it('rejects names that are not a plain file name', async () => {
    const workspace = await Workspace.create(base, 'names-');
    for (const name of ['../x', 'a/b', '/etc/passwd', '..', '.', '', 'a\0b']) {
      await assert.rejects(workspace.writeFile(name, 'x'), /plain file name/, name);
    }
    await assert.rejects(stat(join(base, 'x')), { code: 'ENOENT' });
  });

  it('refuses to overwrite an existing file or follow a planted symlink', async () => {
    const workspace = await Workspace.create(base, 'exists-');
    await workspace.writeFile('a.txt', 'first');
    await assert.rejects(workspace.writeFile('a.txt', 'second'), { code: 'EEXIST' });
    const outside = join(base, 'outside.txt');
    await writeFile(outside, 'untouched');
    await symlink(outside, join(workspace.path, 'link.txt'));
    await assert.rejects(workspace.writeFile('link.txt', 'evil'), { code: 'EEXIST' });
    assert.equal(await readFile(outside, 'utf8'), 'untouched');
  });

  it('removeFile deletes a file and ignores a missing one', async () => {
    const workspace = await Workspace.create(base, 'rmfile-');
    const file = await workspace.writeFile('a.txt', 'x');
    await workspace.removeFile('a.txt');
    await assert.rejects(stat(file), { code: 'ENOENT' });
    await workspace.removeFile('a.txt');
    await assert.rejects(workspace.removeFile('../a.txt'), /plain file name/);
  });

  it('remove() deletes the directory with its content, and can be called twice', async () => {
    const workspace = await Workspace.create(base, 'remove-');
    await workspace.writeFile('secret.json', '{}');
    await workspace.remove();
    await assert.rejects(stat(workspace.path), { code: 'ENOENT' });
    await workspace.remove();
  });

  it('remove() also deletes what a task left there, and files it removed itself', async () => {
    const workspace = await Workspace.create(base, 'left-');
    await workspace.writeFile('vars.json', '{}');
    await workspace.writeFile('gone.json', '{}');
    await unlink(join(workspace.path, 'gone.json'));
    await mkdir(join(workspace.path, '.ansible', 'tmp'), { recursive: true });
    await writeFile(join(workspace.path, '.ansible', 'tmp', 'x'), 'x');
    await workspace.remove();
    await assert.rejects(stat(workspace.path), { code: 'ENOENT' });
  });
});
