import assert from 'node:assert/strict';
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestVhost } from '../support/broker';
import { createTestKeys } from '../support/keys';
import { AppProcess, type AppName } from '../support/processes';
import { fixtures } from '../support/stack';

/** Start-up refuses bad configuration with a message that says what and where. */
describe('start-up checks', () => {
  let brokenCatalogue: string;
  const keys = createTestKeys();
  const databaseUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
  const amqpUrl = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
  const common = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CATALOGUE_DIR: fixtures.catalogueDir,
    PLAYBOOKS_DIR: fixtures.playbooksDir,
  };
  /** What each app may hold, as the README and docker/ give it. */
  const base: Record<Exclude<AppName, 'console'>, NodeJS.ProcessEnv> = {
    api: { ...common, DATABASE_URL: databaseUrl, ...keys.apiEnv() },
    relay: { ...common, DATABASE_URL: databaseUrl, AMQP_URL: amqpUrl, ...keys.relayEnv() },
    dispatcher: { ...common, AMQP_URL: amqpUrl, ...keys.dispatcherEnv() },
  };

  /** Starts the app, expects exit code 1 and returns what it wrote to stderr. */
  async function refused(app: Exclude<AppName, 'console'>, env: NodeJS.ProcessEnv) {
    const process = new AppProcess(app, { ...base[app], ...env });
    assert.equal(await process.waitForExit(), 1, process.text());
    return process.stderr();
  }

  before(async () => {
    brokenCatalogue = await mkdtemp(join(tmpdir(), 'aegir-broken-catalogue-'));
    await cp(fixtures.catalogueDir, brokenCatalogue, { recursive: true });
    const file = join(brokenCatalogue, 'test.sleep.yml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('timeout: 60', 'timeout: soon'));
  });

  after(async () => {
    await rm(brokenCatalogue, { recursive: true, force: true });
    keys.remove();
  });

  for (const app of ['api', 'dispatcher'] as const) {
    it(`${app}: a broken catalogue file stops start-up, naming the file and the field`, async () => {
      const process = new AppProcess(app, { ...base[app], CATALOGUE_DIR: brokenCatalogue });
      const code = await process.exited;
      assert.equal(code, 1, process.text());
      assert.match(process.text(), /test\.sleep\.yml: tasks\[0\]\.timeout must be integer/);
    });
  }

  it('relay: a bad setting stops start-up, naming the variable', async () => {
    const stderr = await refused('relay', { RELAY_EVENTS_BATCH: 'lots' });
    assert.match(
      stderr,
      /^aegir relay failed to start: RELAY_EVENTS_BATCH must be an integer >= 1, got "lots"\n$/,
    );
  });

  it('dispatcher: a pool name that cannot be a queue name is refused', async () => {
    const stderr = await refused('dispatcher', { DISPATCHER_POOL: 'Bad Pool!' });
    assert.match(stderr, /DISPATCHER_POOL must match .*, got "Bad Pool!"/);
  });

  it('dispatcher: a bad number stops start-up before it connects, naming the variable', async () => {
    // no broker at this address: the check comes first, so the answer is immediate
    const stderr = await refused('dispatcher', {
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:1/',
      DISPATCHER_CONCURRENCY: '0',
    });
    assert.match(
      stderr,
      /^aegir dispatcher failed to start: DISPATCHER_CONCURRENCY must be an integer >= 1, got "0"\n$/,
    );
  });

  it('dispatcher: refuses to start without its sealing key, or with one others can read', async () => {
    const missing = await refused('dispatcher', { DISPATCHER_SEALING_KEY_FILE: '' });
    assert.match(
      missing,
      /^aegir dispatcher failed to start: DISPATCHER_SEALING_KEY_FILE must be set to the path of the pool's sealing-<pool>\.key file, got ""\n$/,
    );
    const readable = join(keys.dir, 'readable.key');
    await cp(keys.sealingKey('default'), readable);
    await chmod(readable, 0o644);
    const open = await refused('dispatcher', { DISPATCHER_SEALING_KEY_FILE: readable });
    assert.match(
      open,
      /^aegir dispatcher failed to start: DISPATCHER_SEALING_KEY_FILE: .*readable\.key must be readable by its owner only/m,
    );
    const publicHalf = keys.sealingPublicKey('default');
    const wrong = await refused('dispatcher', { DISPATCHER_SEALING_KEY_FILE: publicHalf });
    assert.match(
      wrong,
      /^aegir dispatcher failed to start: DISPATCHER_SEALING_KEY_FILE: .*sealing-default\.pub must be readable by its owner only/m,
    );
  });

  it('api: refuses to start holding broker credentials (AMQP_URL set)', async () => {
    const stderr = await refused('api', { AMQP_URL: amqpUrl });
    assert.match(
      stderr,
      /^aegir api failed to start: AMQP_URL is set, but the api never holds broker credentials: remove every AMQP_\* variable from the api's environment\n$/,
    );
  });

  it('dispatcher: refuses to start holding database credentials (DATABASE_URL set)', async () => {
    const stderr = await refused('dispatcher', { DATABASE_URL: databaseUrl });
    assert.match(
      stderr,
      /^aegir dispatcher failed to start: DATABASE_URL is set, but the dispatcher never holds database credentials: remove every DATABASE_\* variable from the dispatcher's environment\n$/,
    );
  });

  it('relay and dispatcher: a broker without the topology stops start-up: run aegir broker:setup', async () => {
    const vhost = await createTestVhost('aegir_test_startup');
    try {
      for (const app of ['relay', 'dispatcher'] as const) {
        const stderr = await refused(app, { AMQP_URL: vhost.url });
        assert.match(
          stderr,
          /^aegir (relay|dispatcher) failed to start: exchange aegir\.dispatch is missing on the broker \(.*NOT_FOUND - no exchange 'aegir\.dispatch'.*\): run aegir broker:setup\n$/,
          app,
        );
      }
    } finally {
      await vhost.delete();
    }
  });

  it('relay and dispatcher: a missing signing key file stops start-up, naming the variable', async () => {
    const relay = await refused('relay', { RELAY_SIGNING_KEY_FILE: undefined });
    assert.match(
      relay,
      /^aegir relay failed to start: RELAY_SIGNING_KEY_FILE must be set to the path of the relay-signing\.key file, got ""\n$/,
    );
    const dispatcher = await refused('dispatcher', {
      DISPATCHER_SIGNING_PUBLIC_KEY_FILE: join(keys.dir, 'nowhere.pub'),
    });
    assert.match(
      dispatcher,
      /^aegir dispatcher failed to start: DISPATCHER_SIGNING_PUBLIC_KEY_FILE: cannot read \S+nowhere\.pub: ENOENT\n$/,
    );
  });

  it('relay and dispatcher: a key file of the wrong kind or mode is refused, saying why', async () => {
    // the public half where the private key belongs, and the other way round
    const relay = await refused('relay', { RELAY_SIGNING_KEY_FILE: keys.signingPublicKey });
    assert.match(
      relay,
      /RELAY_SIGNING_KEY_FILE: \S+relay-signing\.pub must be readable by its owner only/,
    );
    const dispatcher = await refused('dispatcher', {
      DISPATCHER_SIGNING_PUBLIC_KEY_FILE: keys.signingKey,
    });
    assert.match(
      dispatcher,
      /DISPATCHER_SIGNING_PUBLIC_KEY_FILE: \S+relay-signing\.key holds a private key: give this component only the public half\n$/,
    );
  });

  it('api and relay: a bad LOG_LEVEL is refused before anything connects', async () => {
    for (const app of ['api', 'relay'] as const) {
      const stderr = await refused(app, {
        LOG_LEVEL: 'loud',
        DATABASE_URL: 'postgres://nowhere:1/x',
      });
      assert.match(
        stderr,
        /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/,
      );
    }
  });
});
