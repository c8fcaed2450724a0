import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultStateRoot, ensurePrivateDir } from './private-dir';
import { WorkDir } from './work-dir';

const modeOf = async (path: string) => (await lstat(path)).mode & 0o777;

describe('the work and state directories', () => {
  let base: string;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'aegir-private-dir-'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('default to a per-user location, not a fixed name in /tmp', () => {
    assert.equal(defaultStateRoot({ XDG_STATE_HOME: '/home/u/.state' }), '/home/u/.state/aegir');
    // a relative XDG_STATE_HOME is ignored, as the XDG rule says
    assert.match(defaultStateRoot({ XDG_STATE_HOME: 'rel' }), /\/\.local\/state\/aegir$/);
    assert.doesNotMatch(defaultStateRoot({}), /^\/tmp\//);
  });

  it('are created 0700, parents too, whatever the umask', async () => {
    const old = process.umask(0);
    try {
      const dir = join(base, 'made', 'work');
      await ensurePrivateDir('DISPATCHER_WORK_DIR', dir);
      assert.equal(await modeOf(dir), 0o700);
      assert.equal(await modeOf(join(base, 'made')), 0o700);
    } finally {
      process.umask(old);
    }
  });

  for (const mode of [0o777, 0o770, 0o702, 0o1777]) {
    it(`refuse a pre-made directory of mode ${mode.toString(8)}, naming the path and the rule`, async () => {
      const dir = join(base, `open-${mode.toString(8)}`);
      await mkdir(dir);
      await chmod(dir, mode);
      await assert.rejects(ensurePrivateDir('DISPATCHER_WORK_DIR', dir), {
        name: 'UnsafeDirectoryError',
        message: `DISPATCHER_WORK_DIR ${dir} is writable by its group or by others (mode 0${(mode & 0o777).toString(8)}): it must be a directory of the user the dispatcher runs as, writable by no one else (chmod 0700)`,
      });
      assert.equal((await lstat(dir)).mode & 0o7777, mode, 'left as it was');
    });
  }

  it('refuse a directory owned by another user', { skip: process.getuid?.() !== 0 }, async () => {
    const dir = join(base, 'theirs');
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, 65534, 65534);
    await assert.rejects(
      ensurePrivateDir('DISPATCHER_STATE_DIR', dir),
      new RegExp(
        `^UnsafeDirectoryError: DISPATCHER_STATE_DIR ${dir} is owned by uid 65534, not by uid 0`,
      ),
    );
  });

  it('refuse a symbolic link in place of the directory', async () => {
    const real = join(base, 'real');
    await mkdir(real, { mode: 0o700 });
    const link = join(base, 'link');
    await symlink(real, link);
    await assert.rejects(ensurePrivateDir('DISPATCHER_WORK_DIR', link), /is a symbolic link/);
  });

  it('accept a private directory that is already there', async () => {
    const dir = join(base, 'private');
    await mkdir(dir, { mode: 0o700 });
    await ensurePrivateDir('DISPATCHER_WORK_DIR', dir);
    await chmod(dir, 0o750); // readable by the group is no risk
    await ensurePrivateDir('DISPATCHER_WORK_DIR', dir);
  });
});

describe('WorkDir.lock', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'aegir-lock-'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('writes a 0600 pid file, and removes only its own', async () => {
    const work = new WorkDir(join(base, 'one'));
    await work.lock();
    const pidFile = join(base, 'one', 'dispatcher.pid');
    assert.equal(await readFile(pidFile, 'utf8'), `${process.pid}\n`);
    assert.equal(await modeOf(pidFile), 0o600);
    assert.equal(await modeOf(join(base, 'one')), 0o700);
    await work.unlock();
    await assert.rejects(lstat(pidFile), { code: 'ENOENT' });
    // someone else's lock is left alone
    await writeFile(pidFile, '1\n');
    await work.unlock();
    assert.equal(await readFile(pidFile, 'utf8'), '1\n');
  });

  it('refuses a directory that a live dispatcher holds', async () => {
    const dir = join(base, 'held');
    await mkdir(dir, { mode: 0o700 });
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await writeFile(join(dir, 'dispatcher.pid'), `${holder.pid}\n`);
      await assert.rejects(new WorkDir(dir).lock(), {
        message: `DISPATCHER_WORK_DIR ${dir} is in use by dispatcher process ${holder.pid}; give each dispatcher its own`,
      });
      assert.equal(await readFile(join(dir, 'dispatcher.pid'), 'utf8'), `${holder.pid}\n`);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over a stale lock: a dead process, garbage or an empty file', async () => {
    const dead = spawn('true', { stdio: 'ignore' });
    await new Promise((done) => dead.on('exit', done));
    for (const content of [`${dead.pid}\n`, 'not a pid', '']) {
      const dir = join(base, `stale-${content.length}`);
      await mkdir(dir, { mode: 0o700 });
      await writeFile(join(dir, 'dispatcher.pid'), content);
      await new WorkDir(dir).lock();
      assert.equal(await readFile(join(dir, 'dispatcher.pid'), 'utf8'), `${process.pid}\n`);
    }
  });

  it('never follows a symlinked pid file: the file it points to is untouched', async () => {
    const dir = join(base, 'planted');
    await mkdir(dir, { mode: 0o700 });
    const victim = join(base, 'victim');
    await writeFile(victim, 'precious\n');
    await symlink(victim, join(dir, 'dispatcher.pid'));
    await assert.rejects(
      new WorkDir(dir).lock(),
      /dispatcher\.pid is a symbolic link; it is not followed/,
    );
    assert.equal(await readFile(victim, 'utf8'), 'precious\n');
    // a dangling one neither: nothing is created where it points
    const dangling = join(base, 'planted-dangling');
    await mkdir(dangling, { mode: 0o700 });
    await symlink(join(base, 'created-through-link'), join(dangling, 'dispatcher.pid'));
    await assert.rejects(new WorkDir(dangling).lock(), /is a symbolic link/);
    await assert.rejects(lstat(join(base, 'created-through-link')), { code: 'ENOENT' });
  });

  it('refuses a world-writable work directory before writing anything in it', async () => {
    const dir = join(base, 'open');
    await mkdir(dir);
    await chmod(dir, 0o777);
    await assert.rejects(new WorkDir(dir).lock(), /is writable by its group or by others/);
    await assert.rejects(lstat(join(dir, 'dispatcher.pid')), { code: 'ENOENT' });
  });
});
