import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { reportPath, resetReport } from './report';

/** Runs first (the files run in name order, one at a time): the report holds this run only. */
describe('fault suite report', () => {
  it('starts empty', async () => {
    await resetReport();
    assert.equal(await readFile(reportPath(), 'utf8'), '');
  });
});
