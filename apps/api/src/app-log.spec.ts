import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiTokenRepository } from '@app/database';
import { freeLocalPort } from '@app/platform';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  createTestDatabase,
  testDataSourceOptions,
  type TestDatabase,
} from '../../../test/support/database';
import { createTestKeys, type TestKeys } from '../../../test/support/keys';
import { AppProcess } from '../../../test/support/processes';
import { fixtures } from '../../../test/support/stack';

/** What the running api writes to its log: no SQL parameters, no request body, no token. */
describe("the api's log", () => {
  let db: TestDatabase;
  let api: AppProcess;
  let base: string;
  let token: string;
  let keys: TestKeys;

  before(async () => {
    db = await createTestDatabase('aegir_test_applog');
    keys = createTestKeys();
    const ds = new DataSource(testDataSourceOptions(db.url));
    await ds.initialize();
    try {
      ({ token } = await new ApiTokenRepository(ds).create({ name: 'applog', role: 'operator' }));
    } finally {
      await ds.destroy();
    }
    const port = await freeLocalPort();
    base = `http://127.0.0.1:${port}/api/v1`;
    api = new AppProcess('api', {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CATALOGUE_DIR: fixtures.catalogueDir,
      PLAYBOOKS_DIR: fixtures.playbooksDir,
      DATABASE_URL: db.url,
      API_PORT: String(port),
      ...keys.apiEnv(),
      LOG_LEVEL: 'info',
    });
    await api.waitFor('api ready');
  });

  after(async () => {
    await api?.stop();
    await db?.drop();
    keys?.remove();
  });

  it('holds neither the SQL parameters of a failed query, nor the body, nor the Authorization header', async () => {
    // The insert of a new operation fails once its outbox table is gone: a database error
    // whose parameters hold the params of the request.
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    try {
      await sql.query('ALTER TABLE outbox RENAME TO outbox_gone');
    } finally {
      await sql.end();
    }
    const response = await fetch(`${base}/operations`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({
        type: 'demo.hello',
        target: 'web1',
        params: { greeting: 'param-7d2a-never-logged' },
      }),
    });
    assert.equal(response.status, 500);
    await response.body?.cancel();
    await api.waitFor('"statusCode":500');
    const log = api.text();
    assert.match(log, /relation \\"outbox\\" does not exist/, 'the error itself is logged');
    assert.match(log, /"authorization":"\[Redacted\]"/);
    assert.doesNotMatch(log, /param-7d2a/, 'no SQL parameter, no body');
    assert.ok(!log.includes(token.slice(-20)), 'no token');
    assert.doesNotMatch(log, /"parameters"|"driverError"/);
  });
});
