import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCpuLine, parseStat, parseStatusMiB, processesNamed, readTimes } from './proc';
import { sumDelta } from './cpu';

describe('bench /proc parsing', () => {
  void it('reads CPU times from a stat line whose name holds spaces and parentheses', () => {
    const line =
      '4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 ' +
      '1234 567 89 10 20 0 1 0 5000 1000000 200 18446744073709551615\n';
    assert.deepEqual(parseStat(line), {
      utime: 1234,
      stime: 567,
      childrenUtime: 89,
      childrenStime: 10,
    });
    assert.throws(() => parseStat('garbage'), /not a \/proc\/PID\/stat/);
  });

  void it('reads VmRSS and VmHWM in MiB', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
    assert.equal(parseStatusMiB(status, 'VmHWM'), 200);
    assert.equal(parseStatusMiB(status, 'VmRSS'), 100);
    assert.throws(() => parseStatusMiB('Name:\tx\n', 'VmRSS'), /no VmRSS/);
  });

  void it('reads busy and total ticks from /proc/stat', () => {
    const stat = 'cpu  100 5 50 1000 20 3 7 2 0 0\ncpu0 50 2 25 500 10 1 3 1 0 0\n';
    assert.deepEqual(parseCpuLine(stat), { busy: 167, total: 1187 });
  });

  void it('reads this very process', () => {
    const times = readTimes(process.pid);
    assert.ok(times && times.utime + times.stime >= 0);
    assert.equal(readTimes(2 ** 30), undefined);
    assert.ok(processesNamed('node').some((found) => found.pid === process.pid));
  });

  void it('sums what processes used since the start, from zero for those born since', () => {
    const before = new Map([
      [1, 10],
      [2, 5],
    ]);
    const after = new Map([
      [1, 12.5],
      [3, 4],
    ]); // 2 ended: lost
    assert.equal(sumDelta(before, after), 6.5);
  });
});
