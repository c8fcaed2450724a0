import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { consoleEnvironment } from './console.environment';

describe('consoleEnvironment', () => {
  it('reads the database, broker and catalogue variables, and the demo api’s port', () => {
    assert.equal(consoleEnvironment.app, 'console');
    assert.deepEqual(consoleEnvironment.variables, [
      'DATABASE_URL',
      'DATABASE_POOL_SIZE',
      'DATABASE_CONNECT_RETRIES',
      'AMQP_URL',
      'AMQP_PUBLISH_TIMEOUT_MS',
      'AMQP_CONNECT_TIMEOUT_MS',
      'BROKER_ADMIN_URL',
      'BROKER_ADMIN_TIMEOUT_MS',
      'BROKER_RELAY_PASSWORD',
      'BROKER_CONSOLE_PASSWORD',
      'BROKER_DISPATCHER_PASSWORDS',
      'CATALOGUE_DIR',
      'PLAYBOOKS_DIR',
      'API_PORT',
      'API_SEALING_KEYS_DIR',
      'AEGIR_API_URL',
      'AEGIR_API_TOKEN',
    ]);
  });

  it('has the README’s defaults for an empty environment', () => {
    assert.deepEqual(consoleEnvironment.validate({}), {
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
      brokerSetup: {
        adminUrl: 'http://guest:guest@127.0.0.1:15672',
        adminTimeoutMs: 10000,
        relayPassword: undefined,
        consolePassword: undefined,
        dispatcherPasswords: undefined,
      },
      catalogue: { dir: resolve('catalogue'), playbooksDir: resolve('playbooks') },
      demo: { apiPort: undefined },
      sealing: { sealingKeysDir: undefined },
      api: { url: undefined, token: undefined },
    });
  });

  it('never shows the admin password of a bad BROKER_ADMIN_URL', () => {
    assert.throws(() => consoleEnvironment.validate({ BROKER_ADMIN_URL: 'ftp://admin:s3cret@x' }), {
      message: 'BROKER_ADMIN_URL must start with http:// or https://, got "ftp://admin:***@x/"',
    });
  });

  it('holds both credentials, and hands API_PORT to the api as given', () => {
    const settings = consoleEnvironment.validate({
      DATABASE_URL: 'postgres://db/aegir',
      AMQP_URL: 'amqp://broker/',
      API_PORT: '8080',
    });
    assert.equal(settings.database.url, 'postgres://db/aegir');
    assert.equal(settings.amqp.url, 'amqp://broker/');
    assert.equal(settings.demo.apiPort, '8080');
  });

  it('refuses a bad value, naming it', () => {
    assert.throws(() => consoleEnvironment.validate({ DATABASE_POOL_SIZE: 'ten' }), {
      name: 'ConfigurationError',
      message: 'DATABASE_POOL_SIZE must be an integer >= 1, got "ten"',
    });
    assert.throws(() => consoleEnvironment.validate({ AMQP_URL: 'localhost:5672' }), {
      message: 'AMQP_URL must start with amqp:// or amqps://, got "localhost:5672"',
    });
  });
});
