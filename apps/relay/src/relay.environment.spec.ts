import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { relayEnvironment } from './relay.environment';

/** Where its /metrics and /health/* listen. */
const HTTP_DEFAULTS = { httpPort: 9101, httpHost: '127.0.0.1' };

/** The integer settings of the relay's own work, each at least 1. */
const RELAY_DEFAULTS = {
  RELAY_OUTBOX_POLL_MS: ['outboxPollMs', 1000],
  RELAY_OUTBOX_BATCH: ['outboxBatch', 100],
  RELAY_EVENTS_PREFETCH: ['eventsPrefetch', 256],
  RELAY_EVENTS_BATCH: ['eventsBatch', 64],
  RELAY_EVENTS_BATCH_MS: ['eventsBatchMs', 10],
  RELAY_EVENTS_LANES: ['eventsLanes', 2],
  RELAY_DATABASE_RETRY_MS: ['databaseRetryMs', 1000],
  RELAY_LOST_AFTER_MS: ['lostAfterMs', 60000],
  RELAY_LOST_CHECK_MS: ['lostCheckMs', 5000],
  RELAY_DISPATCH_TTL_MS: ['dispatchTtlMs', 86_400_000],
  RELAY_CONTROL_TTL_MS: ['controlTtlMs', 300_000],
} as const;

/** What has no default: the relay cannot start without its signing key. */
const REQUIRED = { RELAY_SIGNING_KEY_FILE: '/keys/relay-signing.key' };

describe('relayEnvironment', () => {
  it('reads its own, the database, broker and logging variables', () => {
    assert.equal(relayEnvironment.app, 'relay');
    assert.deepEqual(relayEnvironment.variables, [
      'RELAY_HTTP_PORT',
      'RELAY_HTTP_HOST',
      ...Object.keys(RELAY_DEFAULTS),
      'RELAY_SIGNING_KEY_FILE',
      'DATABASE_URL',
      'DATABASE_POOL_SIZE',
      'DATABASE_CONNECT_RETRIES',
      'AMQP_URL',
      'AMQP_PUBLISH_TIMEOUT_MS',
      'AMQP_CONNECT_TIMEOUT_MS',
      'LOG_LEVEL',
    ]);
  });

  it('has the README’s defaults for an environment with only the key file', () => {
    assert.deepEqual(relayEnvironment.validate(REQUIRED), {
      relay: {
        ...HTTP_DEFAULTS,
        ...Object.fromEntries(Object.values(RELAY_DEFAULTS)),
        signingKeyFile: '/keys/relay-signing.key',
      },
      database: {
        url: 'postgres://postgres@127.0.0.1:5432/aegir',
        poolSize: 10,
        connectRetries: 5,
      },
      amqp: {
        url: 'amqp://guest:guest@127.0.0.1:5672/',
        publishTimeoutMs: 10000,
        connectTimeoutMs: 15000,
      },
      logging: { level: 'info' },
    });
  });

  it('holds both credentials, and reads every variable', () => {
    const settings = relayEnvironment.validate({
      RELAY_SIGNING_KEY_FILE: 'keys/relay.key',
      DATABASE_URL: 'postgres://db/aegir',
      AMQP_URL: 'amqps://broker/aegir',
      AMQP_PUBLISH_TIMEOUT_MS: '500',
      AMQP_CONNECT_TIMEOUT_MS: '700',
      RELAY_HTTP_PORT: '0',
      RELAY_HTTP_HOST: '0.0.0.0',
      ...Object.fromEntries(
        Object.keys(RELAY_DEFAULTS).map((name, index) => [name, `${index + 1}`]),
      ),
    });
    assert.equal(settings.database.url, 'postgres://db/aegir');
    assert.deepEqual(settings.amqp, {
      url: 'amqps://broker/aegir',
      publishTimeoutMs: 500,
      connectTimeoutMs: 700,
    });
    assert.deepEqual(settings.relay, {
      httpPort: 0,
      httpHost: '0.0.0.0',
      ...Object.fromEntries(Object.values(RELAY_DEFAULTS).map(([key], index) => [key, index + 1])),
      signingKeyFile: resolve('keys/relay.key'),
    });
  });

  it('refuses to start without RELAY_SIGNING_KEY_FILE, unset, empty or blank', () => {
    for (const value of [undefined, '', '  ']) {
      assert.throws(() => relayEnvironment.validate({ RELAY_SIGNING_KEY_FILE: value }), {
        name: 'ConfigurationError',
        message: `RELAY_SIGNING_KEY_FILE must be set to the path of the relay-signing.key file, got ${JSON.stringify(value ?? '')}`,
      });
    }
  });

  for (const name of Object.keys(RELAY_DEFAULTS)) {
    for (const value of ['x', '0']) {
      it(`refuses ${name}=${JSON.stringify(value)}, naming it`, () => {
        assert.throws(() => relayEnvironment.validate({ ...REQUIRED, [name]: value }), {
          name: 'ConfigurationError',
          message: `${name} must be an integer >= 1, got ${JSON.stringify(value)}`,
        });
      });
    }
  }

  for (const [name, value, rule] of [
    ['RELAY_HTTP_PORT', '65536', 'must be an integer from 0 to 65535'],
    ['RELAY_HTTP_PORT', 'http', 'must be an integer from 0 to 65535'],
    ['RELAY_HTTP_HOST', ' ', 'must not be empty'],
  ]) {
    it(`refuses ${name}=${JSON.stringify(value)}, naming it`, () => {
      assert.throws(() => relayEnvironment.validate({ ...REQUIRED, [name]: value }), {
        name: 'ConfigurationError',
        message: `${name} ${rule}, got ${JSON.stringify(value)}`,
      });
    });
  }

  it('refuses an AMQP_URL that is not amqp:// or amqps://, without showing its password', () => {
    assert.throws(
      () => relayEnvironment.validate({ ...REQUIRED, AMQP_URL: 'http://aegir:s3cret@broker/' }),
      {
        message: 'AMQP_URL must start with amqp:// or amqps://, got "http://aegir:***@broker/"',
      },
    );
    assert.throws(() => relayEnvironment.validate({ ...REQUIRED, AMQP_PUBLISH_TIMEOUT_MS: '0' }), {
      message: 'AMQP_PUBLISH_TIMEOUT_MS must be an integer >= 1, got "0"',
    });
  });
});
