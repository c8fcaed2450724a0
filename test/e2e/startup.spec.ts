import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppProcess } from '../support/processes';
import { fixtures } from '../support/stack';

/** Start-up refuses bad configuration with a message that says what and where. */
describe('start-up checks', () => {
  let brokenCatalogue: string;
  const base = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PLAYBOOKS_DIR: fixtures.playbooksDir,
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
    AMQP_URL: process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/',
  };

  before(async () => {
    brokenCatalogue = await mkdtemp(join(tmpdir(), 'aegir-broken-catalogue-'));
    await cp(fixtures.catalogueDir, brokenCatalogue, { recursive: true });
    const file = join(brokenCatalogue, 'test.sleep.yml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('timeout: 60', 'timeout: soon'));
  });

  after(async () => {
    await rm(brokenCatalogue, { recursive: true, force: true });
  });

  for (const app of ['api', 'dispatcher'] as const) {
    it(`${app}: a broken catalogue file stops start-up, naming the file and the field`, async () => {
      const process = new AppProcess(app, { ...base, CATALOGUE_DIR: brokenCatalogue });
      const code = await process.exited;
      assert.equal(code, 1, process.text());
      assert.match(process.text(), /test\.sleep\.yml: tasks\[0\]\.timeout must be integer/);
    });
  }

  it('relay: a bad setting stops start-up, naming the variable', async () => {
    const process = new AppProcess('relay', { ...base, RELAY_EVENTS_BATCH: 'lots' });
    assert.equal(await process.exited, 1);
    assert.match(process.text(), /RELAY_EVENTS_BATCH must be an integer >= 1, got "lots"/);
  });

  it('dispatcher: a pool name that cannot be a queue name is refused', async () => {
    const process = new AppProcess('dispatcher', {
      ...base,
      CATALOGUE_DIR: fixtures.catalogueDir,
      DISPATCHER_POOL: 'Bad Pool!',
    });
    assert.equal(await process.exited, 1);
    assert.match(process.text(), /DISPATCHER_POOL must match/);
  });
});
