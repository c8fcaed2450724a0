import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAX_LINE_LENGTH } from '@app/contracts';
import { dispatcherEnvironment } from './dispatcher.environment';
import { defaultStateRoot } from './private-dir';

/** What has no default: the relay's public key and the pool's sealing key. */
const REQUIRED = {
  DISPATCHER_SIGNING_PUBLIC_KEY_FILE: '/keys/relay-signing.pub',
  DISPATCHER_SEALING_KEY_FILE: '/etc/aegir/keys/sealing-default.key',
};
const settingsOf = (env: Record<string, string>) =>
  dispatcherEnvironment.validate({ ...REQUIRED, ...env }).dispatcher;

describe('dispatcherEnvironment', () => {
  it('reads its own, the broker, catalogue and logging variables, and no database one', () => {
    assert.equal(dispatcherEnvironment.app, 'dispatcher');
    const variables = [...dispatcherEnvironment.variables];
    assert.deepEqual(
      variables.filter((name) => !name.startsWith('DISPATCHER_')),
      [
        'AMQP_URL',
        'AMQP_PUBLISH_TIMEOUT_MS',
        'AMQP_CONNECT_TIMEOUT_MS',
        'CATALOGUE_DIR',
        'PLAYBOOKS_DIR',
        'LOG_LEVEL',
      ],
    );
    assert.equal(variables.filter((name) => name.startsWith('DISPATCHER_')).length, 21);
  });

  const keyFiles: [string, string][] = [
    ['DISPATCHER_SEALING_KEY_FILE', "the path of the pool's sealing-<pool>.key file"],
    ['DISPATCHER_SIGNING_PUBLIC_KEY_FILE', 'the path of the relay-signing.pub file'],
  ];
  for (const [name, what] of keyFiles) {
    it(`refuses to start without ${name}, unset, empty or blank, naming it`, () => {
      for (const value of [undefined, '', ' ']) {
        assert.throws(() => dispatcherEnvironment.validate({ ...REQUIRED, [name]: value }), {
          name: 'ConfigurationError',
          message: `${name} must be set to ${what}, got ${JSON.stringify(value ?? '')}`,
        });
      }
    });
  }

  it('has working defaults for everything but the key files', () => {
    assert.deepEqual(settingsOf({}), {
      httpPort: 9102,
      httpHost: '127.0.0.1',
      id: `${hostname()}-${process.pid}`,
      pool: 'default',
      concurrency: 4,
      workDir: join(defaultStateRoot(), 'work'),
      stateDir: join(defaultStateRoot(), 'state'),
      heartbeatIntervalMs: 5000,
      killGraceMs: 5000,
      logBatchLines: 500,
      logBatchMs: 25,
      maxLineLength: 65536,
      maxBufferedLines: 20000,
      shutdownGraceMs: 30000,
      claimTimeoutMs: 10000,
      signingPublicKeyFile: '/keys/relay-signing.pub',
      maxBufferedBytes: 2 * 1024 * 1024,
      logBatchBytes: 256 * 1024,
      spillMaxBytes: 1024 * 1024 * 1024,
      ansi: 'strip',
      sealingKeyFile: REQUIRED.DISPATCHER_SEALING_KEY_FILE,
    });
  });

  it('reads every variable, and makes the directories and key files absolute', () => {
    const env = {
      DISPATCHER_HTTP_PORT: '0',
      DISPATCHER_HTTP_HOST: '::',
      DISPATCHER_ID: 'disp-1',
      DISPATCHER_POOL: 'web_2',
      DISPATCHER_CONCURRENCY: '2',
      DISPATCHER_WORK_DIR: 'relative/work',
      DISPATCHER_STATE_DIR: '/var/lib/aegir',
      DISPATCHER_HEARTBEAT_MS: '1000',
      DISPATCHER_KILL_GRACE_MS: '200',
      DISPATCHER_LOG_BATCH_LINES: '10',
      DISPATCHER_LOG_BATCH_MS: '5',
      DISPATCHER_MAX_LINE_LENGTH: '100',
      DISPATCHER_MAX_BUFFERED_LINES: '50',
      DISPATCHER_SHUTDOWN_GRACE_MS: '0',
      DISPATCHER_CLAIM_TIMEOUT_MS: '300',
      DISPATCHER_MAX_BUFFERED_BYTES: '4096',
      DISPATCHER_LOG_BATCH_BYTES: '1024',
      DISPATCHER_SPILL_MAX_BYTES: '0',
      DISPATCHER_ANSI: 'keep',
      DISPATCHER_SEALING_KEY_FILE: 'keys/sealing-web_2.key',
      DISPATCHER_SIGNING_PUBLIC_KEY_FILE: 'keys/relay.pub',
    };
    assert.deepEqual(
      Object.keys(env).sort(),
      dispatcherEnvironment.variables.filter((name) => name.startsWith('DISPATCHER_')).sort(),
    );
    assert.deepEqual(settingsOf(env), {
      httpPort: 0,
      httpHost: '::',
      id: 'disp-1',
      pool: 'web_2',
      concurrency: 2,
      workDir: join(process.cwd(), 'relative/work'),
      stateDir: '/var/lib/aegir',
      heartbeatIntervalMs: 1000,
      killGraceMs: 200,
      logBatchLines: 10,
      logBatchMs: 5,
      maxLineLength: 100,
      maxBufferedLines: 50,
      shutdownGraceMs: 0,
      claimTimeoutMs: 300,
      signingPublicKeyFile: join(process.cwd(), 'keys/relay.pub'),
      maxBufferedBytes: 4096,
      logBatchBytes: 1024,
      spillMaxBytes: 0,
      ansi: 'keep',
      sealingKeyFile: join(process.cwd(), 'keys/sealing-web_2.key'),
    });
  });

  it('treats an empty value as unset', () => {
    const settings = settingsOf({ DISPATCHER_POOL: '', DISPATCHER_CONCURRENCY: '' });
    assert.equal(settings.pool, 'default');
    assert.equal(settings.concurrency, 4);
  });

  for (const pool of ['Bad Pool!', 'UPPER', '-leading-dash', 'a/b', 'x'.repeat(64)]) {
    it(`refuses DISPATCHER_POOL ${JSON.stringify(pool.slice(0, 20))}, naming the variable`, () => {
      assert.throws(() => settingsOf({ DISPATCHER_POOL: pool }), {
        name: 'ConfigurationError',
        message: `DISPATCHER_POOL must match /^[a-z0-9][a-z0-9_-]{0,62}$/, got ${JSON.stringify(pool)}`,
      });
    });
  }

  const badIntegers: [string, string, number][] = [
    ['DISPATCHER_CONCURRENCY', 'abc', 1],
    ['DISPATCHER_CONCURRENCY', '0', 1],
    ['DISPATCHER_CONCURRENCY', '1.5', 1],
    ['DISPATCHER_HEARTBEAT_MS', '-5', 1],
    ['DISPATCHER_KILL_GRACE_MS', '5s', 1],
    ['DISPATCHER_LOG_BATCH_LINES', '1e3', 1],
    ['DISPATCHER_LOG_BATCH_MS', 'NaN', 1],
    ['DISPATCHER_MAX_BUFFERED_LINES', '0', 1],
    ['DISPATCHER_SHUTDOWN_GRACE_MS', '-1', 0],
    ['DISPATCHER_CLAIM_TIMEOUT_MS', '0', 1],
    ['DISPATCHER_MAX_BUFFERED_BYTES', '32M', 1],
    ['DISPATCHER_LOG_BATCH_BYTES', '0', 1],
    ['DISPATCHER_SPILL_MAX_BYTES', '-1', 0],
  ];
  for (const [name, value, min] of badIntegers) {
    it(`refuses ${name}=${JSON.stringify(value)}, naming the variable`, () => {
      assert.throws(() => settingsOf({ [name]: value }), {
        message: `${name} must be an integer >= ${min}, got "${value}"`,
      });
    });
  }

  for (const value of ['0', '65537', '99999999999999999999']) {
    it(`refuses DISPATCHER_MAX_LINE_LENGTH=${value}: no longer than the wire takes`, () => {
      assert.throws(() => settingsOf({ DISPATCHER_MAX_LINE_LENGTH: value }), {
        message: `DISPATCHER_MAX_LINE_LENGTH must be an integer from 1 to ${MAX_LINE_LENGTH}, got "${value}"`,
      });
    });
  }

  it('splits lines at the length the wire takes, unless told less', () => {
    assert.equal(settingsOf({}).maxLineLength, MAX_LINE_LENGTH);
    assert.equal(settingsOf({ DISPATCHER_MAX_LINE_LENGTH: '65536' }).maxLineLength, 65536);
  });

  for (const value of ['STRIP', 'remove', 'true', ' keep']) {
    it(`refuses DISPATCHER_ANSI=${JSON.stringify(value)}, naming the variable`, () => {
      assert.throws(() => settingsOf({ DISPATCHER_ANSI: value }), {
        message: `DISPATCHER_ANSI must be one of keep, strip, got ${JSON.stringify(value)}`,
      });
    });
  }

  it('accepts DISPATCHER_ANSI keep and strip', () => {
    assert.equal(settingsOf({ DISPATCHER_ANSI: 'keep' }).ansi, 'keep');
    assert.equal(settingsOf({ DISPATCHER_ANSI: 'strip' }).ansi, 'strip');
  });

  for (const name of ['DATABASE_URL', 'DATABASE_POOL_SIZE', 'DATABASE_CONNECT_RETRIES']) {
    it(`refuses to start with ${name} set: the dispatcher never holds database credentials`, () => {
      assert.throws(() => dispatcherEnvironment.validate({ [name]: 'postgres://db/aegir' }), {
        name: 'ConfigurationError',
        message:
          `${name} is set, but the dispatcher never holds database credentials: ` +
          "remove every DATABASE_* variable from the dispatcher's environment",
      });
    });
  }

  it('names the broker and catalogue settings too', () => {
    const settings = dispatcherEnvironment.validate({
      ...REQUIRED,
      AMQP_URL: 'amqp://d:pw@broker/v',
      CATALOGUE_DIR: '/srv/catalogue',
      DISPATCHER_SEALING_KEY_FILE: REQUIRED.DISPATCHER_SEALING_KEY_FILE,
    });
    assert.equal(settings.amqp.url, 'amqp://d:pw@broker/v');
    assert.equal(settings.catalogue.dir, '/srv/catalogue');
    assert.throws(
      () => dispatcherEnvironment.validate({ ...REQUIRED, AMQP_CONNECT_TIMEOUT_MS: 'soon' }),
      {
        message: 'AMQP_CONNECT_TIMEOUT_MS must be an integer >= 1, got "soon"',
      },
    );
  });
});
