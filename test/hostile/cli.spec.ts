import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Stack } from '../support/stack';
import { cliCases, type CliFixtures } from './cases/cli-cases';
import { ESC, rowCounts, shortly, stateDigest } from './support';

/** Lines as a dispatcher with DISPATCHER_ANSI=keep stores them: escapes and all. */
const HOSTILE_LINES = [
  `${ESC}[2Jcleared the screen`,
  `${ESC}]0;a new window title\u0007`,
  `bell\u0007 backspace\u0008 delete\u007f csi\u009b31m`,
];

/**
 * Every hostile flag of the table through the built `aegir` console, against a database
 * and vhost of its own: the exit code, the `error: …` line naming the flag or field, and
 * that nothing was written or changed.
 */
describe('hostile input: CLI flags', () => {
  let stack: Stack;
  let fixtures: CliFixtures;

  const created = async (target: string): Promise<string> => {
    const result = await stack.aegir([
      'op:create',
      'test.echo',
      '--target',
      target,
      '--param',
      'message=fixture',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as { id: string }).id;
  };

  before(async () => {
    stack = await Stack.start({ prefix: 'aegir_hostile_cli', apps: [] });
    const queued = await created('fixture-queued');
    const escapes = await created('fixture-escapes');
    for (const [index, line] of HOSTILE_LINES.entries()) {
      await stack.query(
        `INSERT INTO log_lines (operation_id, task_id, seq, stream, line, emitted_at)
         VALUES ($1, NULL, $2, 'stdout', $3, now())`,
        [escapes, index + 1, line],
      );
    }
    fixtures = { queued, escapes, unknown: randomUUID() };
  });

  after(async () => {
    await stack?.stop();
  });

  for (const testCase of cliCases) {
    it(`${testCase.name}: exit ${testCase.expect.code}`, async () => {
      const args = typeof testCase.args === 'function' ? testCase.args(fixtures) : testCase.args;
      const countsBefore = await rowCounts(stack);
      const stateBefore = await stateDigest(stack);
      const result = await stack.aegir(args);
      const shown = `aegir ${shortly(args.join(' '), 160)} → ${result.code}\nstderr: ${shortly(
        result.stderr,
        600,
      )}\nstdout: ${shortly(result.stdout, 300)}`;
      assert.equal(result.code, testCase.expect.code, shown);
      if (testCase.expect.stderr) assert.match(result.stderr, testCase.expect.stderr, shown);
      if (testCase.expect.stdout) assert.match(result.stdout, testCase.expect.stdout, shown);
      if (testCase.expect.stdoutNot) {
        assert.doesNotMatch(result.stdout, testCase.expect.stdoutNot, shown);
        assert.doesNotMatch(result.stderr, testCase.expect.stdoutNot, shown);
      }
      assert.doesNotMatch(result.stderr, /^\s+at /m, `no stack trace: ${shown}`);
      assert.deepEqual(await rowCounts(stack), countsBefore, `nothing created: ${shown}`);
      assert.equal(await stateDigest(stack), stateBefore, `nothing changed: ${shown}`);
    });
  }
});
