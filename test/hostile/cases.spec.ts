import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { amqpCases } from './cases/amqp-cases';
import { catalogueCases } from './cases/catalogue-cases';
import { cliCases } from './cases/cli-cases';
import { httpCases } from './cases/http-cases';

/** Issue 9 asks for at least 150 hostile inputs across the four surfaces, each a case of its own. */
describe('hostile input: the tables', () => {
  const surfaces = { http: httpCases, cli: cliCases, catalogue: catalogueCases, amqp: amqpCases };

  it('hold at least 150 cases, on every surface', () => {
    const total = Object.values(surfaces).reduce((sum, cases) => sum + cases.length, 0);
    assert.ok(total >= 150, `${total} cases`);
    for (const [surface, cases] of Object.entries(surfaces)) {
      assert.ok(cases.length >= 20, `${surface}: ${cases.length} cases`);
    }
  });

  it('name each case once per surface, so a failure says which', () => {
    for (const [surface, cases] of Object.entries(surfaces)) {
      const names = cases.map((testCase) => testCase.name);
      const twice = names.filter((name, index) => names.indexOf(name) !== index);
      assert.deepEqual(twice, [], `${surface}: names used twice`);
    }
  });
});
