import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertAllEnded,
  assertNothingDeadLettered,
  describeFacts,
  examine,
  TERMINAL,
} from './checks';
import { runScenario, useFaultStack } from './scenario';

/** test.flood: COUNT lines of exactly 1 MiB with their newline, each with a NUL and a 0xff byte. */
const COUNT = 200;
const LINE_BYTES = 1 << 20;
const MAX_RSS_MIB = 250;
const MAX_LINE_LENGTH = 65536;

describe('fault: 200 MB of output in 1 MB lines, with NUL bytes and invalid UTF-8', () => {
  const stack = useFaultStack();

  it('stores it all, split and cleaned, with dispatcher and relay memory bounded', () =>
    runScenario('200 MB flood, 1 MB lines', async (tally) => {
      const operation = await stack.createOperation('test.flood', 'flood', { count: COUNT });
      await stack.waitForStatus(operation.id, TERMINAL, 400_000);
      const peak = {
        dispatcher: stack.app('dispatcher').peakRssMiB(),
        relay: stack.app('relay').peakRssMiB(),
      };
      tally.peakRssMiB = peak;

      const facts = await examine(stack, operation.id, { lines: false });
      const [stats] = await stack.query(
        `SELECT count(*)::int AS rows, max(seq)::int AS last, min(seq)::int AS first,
                count(*) FILTER (WHERE stream = 'stdout')::int AS pieces,
                coalesce(sum(length(line)) FILTER (WHERE stream = 'stdout'), 0)::bigint AS chars,
                count(*) FILTER (WHERE stream = 'stdout' AND NOT continues)::int AS ends,
                coalesce(sum(length(line) - length(replace(line, chr(65533), '')))
                  FILTER (WHERE stream = 'stdout'), 0)::int AS replaced,
                max(length(line))::int AS longest
           FROM log_lines WHERE operation_id = $1`,
        [operation.id],
      );
      // The first piece of every line: the one after a row that does not continue.
      const heads = await stack.query(
        `SELECT substr(line, 1, 12) AS head FROM (
            SELECT seq, stream, line, lag(continues) OVER (ORDER BY seq) AS previous_continues
              FROM log_lines WHERE operation_id = $1) AS pieces
          WHERE stream = 'stdout' AND previous_continues IS DISTINCT FROM true
          ORDER BY seq`,
        [operation.id],
      );
      const texts = heads.map((row) => row.head as string);
      facts.duplicates = texts.length - new Set(texts).size;
      tally.add(facts);

      assert.equal(facts.status, 'succeeded', describeFacts(facts));
      assert.equal(stats.first, 1);
      assert.equal(stats.last, stats.rows, 'seq runs 1..n without a gap');
      assert.equal(facts.lineCount, stats.rows, 'emitted = stored');
      assert.equal(facts.linesStored, stats.rows);
      assert.equal(facts.complete, true);
      assert.equal(stats.ends, COUNT, 'every line ends in one row that does not continue');
      assert.ok(stats.longest <= MAX_LINE_LENGTH, `longest row ${stats.longest}`);
      assert.ok(stats.pieces >= COUNT * Math.ceil(LINE_BYTES / MAX_LINE_LENGTH) - COUNT);
      // One character per byte but the newline: NUL and 0xff each became one U+FFFD.
      assert.equal(Number(stats.chars), COUNT * (LINE_BYTES - 1), 'stored text = emitted bytes');
      assert.equal(stats.replaced, 2 * COUNT, 'NUL and 0xff replaced by U+FFFD');
      assert.deepEqual(
        texts,
        Array.from({ length: COUNT }, (_, i) => `${String(i + 1).padStart(8, '0')} \uFFFD\uFFFD `),
        'the lines, in order, each once',
      );
      for (const [app, mib] of Object.entries(peak)) {
        assert.ok(mib <= MAX_RSS_MIB, `${app} peak RSS ${mib} MiB > ${MAX_RSS_MIB} MiB`);
      }
      await assertNothingDeadLettered(stack);
      await assertAllEnded(stack);
    }));
});
