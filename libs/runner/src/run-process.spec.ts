import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { runProcess, type OutputStream, type RunOptions } from './run-process';

const execFileAsync = promisify(execFile);
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };

/** A kill that does not work leaves the result pending: fail instead of hanging. */
const KILL_TEST_TIMEOUT_MS = 15_000;

interface Line {
  stream: OutputStream;
  text: string;
  /** Present, as on the wire, only on a piece that the next line continues. */
  continues?: true;
}

function start(argv: string[], options: Partial<RunOptions> = {}) {
  const lines: Line[] = [];
  const running = runProcess({
    argv,
    cwd: tmpdir(),
    env,
    timeoutMs: 30_000,
    killGraceMs: 1_000,
    onLine: (stream, text, continues) => {
      lines.push(continues ? { stream, text, continues } : { stream, text });
    },
    ...options,
  });
  return { running, lines };
}

/** Processes of the group that are not zombies, read from /proc. */
function liveMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces, so parse after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(entry));
  }
  return members;
}

function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ESRCH');
    return true;
  }
}

describe('runProcess', () => {
  it('delivers stdout lines and the exit code', async () => {
    const { running, lines } = start(['printf', 'a\\nb\\n']);
    assert.equal(typeof running.pid, 'number');
    const result = await running.result;
    assert.deepEqual(lines, [
      { stream: 'stdout', text: 'a' },
      { stream: 'stdout', text: 'b' },
    ]);
    assert.equal(result.outcome, 'exited');
    assert.equal(result.exitCode, 0);
    assert.equal(result.signal, null);
    assert.equal(result.error, undefined);
    assert.ok(result.durationMs >= 0);
  });

  it('reports a non-zero exit code as exited', async () => {
    const result = await start(['sh', '-c', 'exit 3']).running.result;
    assert.equal(result.outcome, 'exited');
    assert.equal(result.exitCode, 3);
  });

  it('captures stdout and stderr, each line with its stream', async () => {
    const { running, lines } = start(['sh', '-c', 'echo out1; echo err1 >&2; echo out2']);
    await running.result;
    assert.deepEqual(
      lines.filter((line) => line.stream === 'stdout').map((line) => line.text),
      ['out1', 'out2'],
    );
    assert.deepEqual(
      lines.filter((line) => line.stream === 'stderr'),
      [{ stream: 'stderr', text: 'err1' }],
    );
  });

  it('flushes a final line without newline before the result', async () => {
    const { running, lines } = start(['sh', '-c', 'printf "x\\n\\nno newline"; printf tail >&2']);
    await running.result;
    assert.deepEqual(
      lines.filter((line) => line.stream === 'stdout').map((line) => line.text),
      ['x', '', 'no newline'],
    );
    assert.deepEqual(
      lines.filter((line) => line.stream === 'stderr').map((line) => line.text),
      ['tail'],
    );
  });

  it('passes exactly the given environment and argument array, without a shell', async () => {
    const { running, lines } = start(['env'], { env: { ONLY: 'this one', PATH: env.PATH } });
    await running.result;
    assert.deepEqual(
      lines.map((line) => line.text).sort(),
      [`PATH=${env.PATH}`, 'ONLY=this one'].sort(),
    );

    const echo = start(['printf', '%s|', '$HOME', 'a b', '`id`;']);
    await echo.running.result;
    assert.deepEqual(
      echo.lines.map((line) => line.text),
      ['$HOME|a b|`id`;|'],
    );
  });

  it('runs the process as the leader of its own process group, with stdin closed', async () => {
    const { running, lines } = start(['sh', '-c', 'cut -d" " -f5 /proc/$$/stat; cat; echo done']);
    const result = await running.result;
    assert.deepEqual(
      lines.map((line) => line.text),
      [String(running.pid), 'done'],
    );
    assert.equal(result.exitCode, 0);
  });

  it('delivers 200000 lines in order', async () => {
    let expected = 1;
    let outOfOrder = 0;
    const result = await runProcess({
      argv: ['seq', '1', '200000'],
      cwd: tmpdir(),
      env,
      timeoutMs: 30_000,
      killGraceMs: 1_000,
      onLine: (_stream, text) => {
        if (text !== String(expected)) outOfOrder++;
        expected++;
      },
    }).result;
    assert.equal(result.exitCode, 0);
    assert.equal(outOfOrder, 0);
    assert.equal(expected, 200001);
  });

  it('waits for a slow onLine and still delivers every line in order', async () => {
    const received: string[] = [];
    const result = await runProcess({
      argv: ['seq', '1', '200000'],
      cwd: tmpdir(),
      env,
      timeoutMs: 60_000,
      killGraceMs: 1_000,
      onLine: async (_stream, text) => {
        received.push(text);
        if (received.length % 1000 === 0) await sleep(1);
      },
    }).result;
    assert.equal(result.outcome, 'exited');
    assert.equal(received.length, 200_000);
    assert.ok(received.every((text, index) => text === String(index + 1)));
  });

  it(
    'applies backpressure: a writer blocks while onLine is pending',
    { timeout: KILL_TEST_TIMEOUT_MS },
    async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let count = 0;
      const running = runProcess({
        argv: ['seq', '1', '500000'], // ~3.4 MB, far beyond the pipe and stream buffers
        cwd: tmpdir(),
        env,
        timeoutMs: 60_000,
        killGraceMs: 1_000,
        onLine: async () => {
          count++;
          if (count === 1) await gate;
        },
      });
      await sleep(500);
      assert.equal(count, 1);
      assert.ok(existsSync(`/proc/${running.pid}`), 'writer should be blocked, not finished');
      release();
      const result = await running.result;
      assert.equal(result.exitCode, 0);
      assert.equal(count, 500_000);
    },
  );

  it('kills the process group on timeout', { timeout: KILL_TEST_TIMEOUT_MS }, async () => {
    const started = Date.now();
    const { running } = start(['sleep', '100'], { timeoutMs: 300, killGraceMs: 5_000 });
    const result = await running.result;
    assert.equal(result.outcome, 'timed_out');
    assert.equal(result.signal, 'SIGTERM');
    assert.equal(result.exitCode, null);
    assert.match(result.error ?? '', /timed out after 300 ms/);
    assert.ok(Date.now() - started < 3_000, 'sleep should die on SIGTERM, long before the grace');
  });

  it(
    'times out a task whose background child keeps the output open',
    { timeout: KILL_TEST_TIMEOUT_MS },
    async () => {
      const { running, lines } = start(['sh', '-c', 'sleep 100 & echo started'], {
        timeoutMs: 500,
        killGraceMs: 500,
      });
      const result = await running.result;
      assert.deepEqual(
        lines.map((line) => line.text),
        ['started'],
      );
      assert.equal(result.outcome, 'timed_out');
      assert.deepEqual(liveMembers(running.pid!), []);
    },
  );

  it(
    'stop() kills a group that ignores SIGTERM, children included, after the grace',
    { timeout: KILL_TEST_TIMEOUT_MS },
    async () => {
      const grace = 500;
      const { running, lines } = start(
        ['sh', '-c', 'trap "" TERM; sleep 100 & echo ready; sleep 100; wait'],
        { killGraceMs: grace },
      );
      const pid = running.pid!;
      while (lines.length === 0) await sleep(10);
      assert.ok(liveMembers(pid).length >= 3, 'sh and both sleeps run in the group');

      const stopped = Date.now();
      running.stop('cancelled');
      running.stop('cancelled'); // idempotent
      const result = await running.result;
      const elapsed = Date.now() - stopped;

      assert.equal(result.outcome, 'cancelled');
      assert.equal(result.signal, 'SIGKILL');
      assert.equal(result.exitCode, null);
      assert.equal(result.error, 'stopped: cancelled');
      assert.ok(
        elapsed >= grace - 50,
        `TERM was ignored, so KILL comes after the grace (${elapsed} ms)`,
      );
      assert.ok(elapsed < grace + 1_000, `took ${elapsed} ms`);
      assert.deepEqual(liveMembers(pid), []);
      // Killed orphans are reaped by init, which may take a moment.
      const deadline = Date.now() + 5_000;
      while (!groupGone(pid) && Date.now() < deadline) await sleep(50);
      assert.ok(groupGone(pid), 'no process of the group remains');
    },
  );

  it(
    'kills a running group when this process exits',
    { timeout: KILL_TEST_TIMEOUT_MS },
    async () => {
      const script = `
      const { runProcess } = require(${JSON.stringify(join(__dirname, 'run-process'))});
      const run = runProcess({
        argv: ['sh', '-c', 'trap "" TERM; sleep 100 & sleep 100'],
        cwd: '/', env: { PATH: process.env.PATH }, timeoutMs: 60000, killGraceMs: 60000,
        onLine() {},
      });
      process.stdout.write(String(run.pid));
      setTimeout(() => process.exit(0), 300);
    `;
      const { stdout } = await execFileAsync(process.execPath, ['-e', script]);
      const pid = Number(stdout);
      assert.ok(pid > 0, `child printed ${stdout}`);
      const deadline = Date.now() + 3_000;
      while (liveMembers(pid).length > 0 && Date.now() < deadline) await sleep(50);
      assert.deepEqual(liveMembers(pid), []);
    },
  );

  it('keeps the stop reason for a shutdown', { timeout: KILL_TEST_TIMEOUT_MS }, async () => {
    const { running } = start(['sleep', '100']);
    running.stop('shutdown');
    const result = await running.result;
    assert.equal(result.outcome, 'cancelled');
    assert.equal(result.error, 'stopped: shutdown');
  });

  it('stop() after the process ended changes nothing', async () => {
    const { running } = start(['true']);
    const result = await running.result;
    running.stop('cancelled');
    assert.equal(result.outcome, 'exited');
    assert.equal((await running.result).outcome, 'exited');
  });

  it('reports a missing program as spawn_failed without throwing', async () => {
    const { running, lines } = start(['no-such-program-aegir', '--flag']);
    assert.equal(running.pid, undefined);
    running.stop('cancelled');
    const result = await running.result;
    assert.equal(result.outcome, 'spawn_failed');
    assert.equal(result.error, 'command not found: no-such-program-aegir');
    assert.equal(result.exitCode, null);
    assert.deepEqual(lines, []);
  });

  it('reports a program that cannot be executed as spawn_failed with the cause', async () => {
    const result = await start([tmpdir()]).running.result;
    assert.equal(result.outcome, 'spawn_failed');
    assert.match(result.error ?? '', /EACCES/);
  });

  it(
    'stops the process when onLine fails, and still resolves',
    { timeout: KILL_TEST_TIMEOUT_MS },
    async () => {
      const running = runProcess({
        argv: ['sh', '-c', 'echo one; sleep 100'],
        cwd: tmpdir(),
        env,
        timeoutMs: 30_000,
        killGraceMs: 1_000,
        onLine: async () => {
          throw new Error('broker buffer full');
        },
      });
      const result = await running.result;
      assert.equal(result.outcome, 'cancelled');
      assert.equal(result.error, 'output handler failed: broker buffer full');
    },
  );

  it('cuts over-long lines at maxLineLength and marks every piece but the last', async () => {
    const { running, lines } = start(['printf', 'abcdefghij\\nxy\\n'], { maxLineLength: 4 });
    await running.result;
    assert.deepEqual(lines, [
      { stream: 'stdout', text: 'abcd', continues: true },
      { stream: 'stdout', text: 'efgh', continues: true },
      { stream: 'stdout', text: 'ij' },
      { stream: 'stdout', text: 'xy' },
    ]);
  });

  it('replaces NUL bytes and invalid UTF-8 with U+FFFD', async () => {
    const { running, lines } = start(['printf', 'a\\0b\\xffc\\n']);
    await running.result;
    assert.deepEqual(lines, [{ stream: 'stdout', text: 'a\uFFFDb\uFFFDc' }]);
  });

  const coloured = ['printf', '\\033[1;31mred\\033[0m\\tok\\r\\n\\033]0;title\\007x\\n'];
  it('keeps ANSI escapes by default', async () => {
    const { running, lines } = start(coloured);
    await running.result;
    assert.deepEqual(
      lines.map((line) => line.text),
      ['\x1b[1;31mred\x1b[0m\tok', '\x1b]0;title\x07x'],
    );
  });

  it('strips ANSI escapes and control characters but TAB with ansi: strip', async () => {
    const { running, lines } = start(coloured, { ansi: 'strip' });
    await running.result;
    assert.deepEqual(
      lines.map((line) => line.text),
      ['red\tok', 'x'],
    );
  });

  it('rejects invalid options at once', () => {
    const onLine = () => undefined;
    const base = { cwd: tmpdir(), env, timeoutMs: 1000, killGraceMs: 100, onLine };
    assert.throws(() => runProcess({ ...base, argv: [] }), /argv/);
    assert.throws(() => runProcess({ ...base, argv: ['true'], timeoutMs: 0 }), /timeoutMs/);
    assert.throws(() => runProcess({ ...base, argv: ['true'], killGraceMs: -1 }), /killGraceMs/);
    assert.throws(
      () => runProcess({ ...base, argv: ['true'], ansi: 'drop' as 'strip' }),
      /ansi must be one of keep, strip, got "drop"/,
    );
  });
});
