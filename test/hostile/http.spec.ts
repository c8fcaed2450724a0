import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Stack } from '../support/stack';
import { httpCases, type HttpFixtures } from './cases/http-cases';
import { messageOf, rowCounts, shortly, stateDigest } from './support';

/**
 * Every hostile request of the table against the real api on a database of its own: the
 * answer (status and the message naming the field) and that no row was written or changed.
 * No relay runs, so a queued operation stays queued whatever a case tries.
 */
describe('hostile input: HTTP', () => {
  let stack: Stack;
  let fixtures: HttpFixtures;

  before(async () => {
    stack = await Stack.start({ prefix: 'aegir_hostile_http', apps: ['api'] });
    const queued = await stack.createOperation('test.echo', 'fixture-queued', { message: 'q' });
    const cancelled = await stack.createOperation('test.echo', 'fixture-cancelled', {
      message: 'c',
    });
    const cancel = await stack.request('POST', `/operations/${cancelled.id}/cancel`, {});
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    fixtures = { queued: queued.id, cancelled: cancelled.id, unknown: randomUUID() };
  });

  after(async () => {
    await stack?.stop();
  });

  for (const testCase of httpCases) {
    it(`${testCase.name}: ${testCase.expect.status}`, async () => {
      const path = typeof testCase.path === 'function' ? testCase.path(fixtures) : testCase.path;
      const countsBefore = await rowCounts(stack);
      const stateBefore = await stateDigest(stack);
      const reply = await stack.request(testCase.method, path, testCase.body, {
        headers: testCase.headers,
      });
      const shown = `${testCase.method} ${shortly(path, 120)} → ${reply.status} ${shortly(
        JSON.stringify(reply.body ?? null),
      )}`;
      assert.equal(reply.status, testCase.expect.status, shown);
      if (testCase.expect.message)
        assert.match(messageOf(reply.body), testCase.expect.message, shown);
      assert.deepEqual(await rowCounts(stack), countsBefore, `nothing created: ${shown}`);
      assert.equal(await stateDigest(stack), stateBefore, `nothing changed: ${shown}`);
    });
  }

  it('the api still answers after all of them', async () => {
    assert.ok(stack.app('api').running, 'the api process still runs');
    const queued = await stack.request('GET', `/operations/${fixtures.queued}`);
    assert.equal(queued.status, 200);
    assert.doesNotMatch(stack.app('api').stderr(), /heap out of memory|FATAL ERROR/);
  });
});
