import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPERATION_STATUSES, type OperationStatus } from '@app/contracts';
import { canMove, statusesBefore } from './status-machine';

const terminal: OperationStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out', 'lost'];

/** Every allowed move, written out by hand from the design's status diagram. */
const allowed = new Set<string>([
  'queued>dispatched',
  'queued>running',
  ...terminal.map((t) => `queued>${t}`),
  'dispatched>running',
  ...terminal.map((t) => `dispatched>${t}`),
  ...terminal.map((t) => `running>${t}`),
]);

describe('status machine', () => {
  for (const from of OPERATION_STATUSES) {
    for (const to of OPERATION_STATUSES) {
      const expected = allowed.has(`${from}>${to}`);
      it(`${expected ? 'allows' : 'refuses'} ${from} → ${to}`, () => {
        assert.equal(canMove(from, to), expected);
      });
    }
  }

  it('never moves out of a terminal status', () => {
    for (const from of terminal) {
      assert.deepEqual(
        OPERATION_STATUSES.filter((to) => canMove(from, to)),
        [],
      );
    }
  });

  it('lists the statuses each status may be reached from', () => {
    assert.deepEqual(statusesBefore('queued'), []);
    assert.deepEqual(statusesBefore('dispatched'), ['queued']);
    assert.deepEqual(statusesBefore('running'), ['queued', 'dispatched']);
    for (const to of terminal) {
      assert.deepEqual(statusesBefore(to), ['queued', 'dispatched', 'running']);
    }
  });

  it('agrees with canMove for every pair', () => {
    for (const to of OPERATION_STATUSES) {
      for (const from of OPERATION_STATUSES) {
        assert.equal(statusesBefore(to).includes(from), canMove(from, to), `${from} → ${to}`);
      }
    }
  });
});
