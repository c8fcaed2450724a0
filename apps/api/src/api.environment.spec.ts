import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { apiEnvironment } from './api.environment';

describe('apiEnvironment', () => {
  it('reads the api, database, catalogue and logging variables, and no broker one', () => {
    assert.equal(apiEnvironment.app, 'api');
    assert.deepEqual(apiEnvironment.variables, [
      'API_PORT',
      'API_HOST',
      'API_SEALING_KEYS_DIR',
      'API_DOCS',
      'API_RATE_LIMIT',
      'API_RATE_LIMIT_ANONYMOUS',
      'API_RATE_WINDOW_SECONDS',
      'API_AUDIT_REFUSALS_PER_MINUTE',
      'API_CORS_ORIGINS',
      'API_ALLOWED_HOSTS',
      'API_METRICS_TOKEN',
      'API_SSE_HEARTBEAT_MS',
      'API_SSE_EVENT_INTERVAL_MS',
      'DATABASE_URL',
      'DATABASE_POOL_SIZE',
      'DATABASE_CONNECT_RETRIES',
      'CATALOGUE_DIR',
      'PLAYBOOKS_DIR',
      'LOG_LEVEL',
    ]);
  });

  it('has the README’s defaults for an empty environment', () => {
    assert.deepEqual(apiEnvironment.validate({}), {
      api: { port: 3000, host: '127.0.0.1', sealingKeysDir: undefined, docs: 'on' },
      access: {
        rateLimit: 1200,
        rateLimitAnonymous: 60,
        rateWindowSeconds: 60,
        auditRefusalsPerMinute: 120,
        corsOrigins: '',
        allowedHosts: '',
      },
      metrics: { token: '' },
      streams: { heartbeatMs: 15000, eventIntervalMs: 50 },
      database: {
        url: 'postgres://postgres@127.0.0.1:5432/aegir',
        poolSize: 10,
        connectRetries: 5,
      },
      catalogue: { dir: resolve('catalogue'), playbooksDir: resolve('playbooks') },
      logging: { level: 'info' },
    });
  });

  it('reads every variable', () => {
    const settings = apiEnvironment.validate({
      API_PORT: '8080',
      API_HOST: '0.0.0.0',
      API_RATE_LIMIT: '100',
      API_RATE_LIMIT_ANONYMOUS: '10',
      API_RATE_WINDOW_SECONDS: '30',
      API_AUDIT_REFUSALS_PER_MINUTE: '20',
      API_CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      API_ALLOWED_HOSTS: 'api.example.com,[::1]',
      API_SEALING_KEYS_DIR: 'keys',
      API_METRICS_TOKEN: 'prometheus-scrape-token-0123456789',
      API_DOCS: 'off',
      API_SSE_HEARTBEAT_MS: '5000',
      API_SSE_EVENT_INTERVAL_MS: '100',
      DATABASE_URL: 'postgres://aegir:secret@db:5432/aegir',
      DATABASE_POOL_SIZE: '3',
      DATABASE_CONNECT_RETRIES: '0',
      CATALOGUE_DIR: '/etc/aegir/catalogue',
      PLAYBOOKS_DIR: 'playbooks-here',
      LOG_LEVEL: 'warn',
    });
    assert.deepEqual(settings, {
      api: { port: 8080, host: '0.0.0.0', sealingKeysDir: resolve('keys'), docs: 'off' },
      access: {
        rateLimit: 100,
        rateLimitAnonymous: 10,
        rateWindowSeconds: 30,
        auditRefusalsPerMinute: 20,
        corsOrigins: 'https://app.example.com, http://localhost:5173',
        allowedHosts: 'api.example.com,[::1]',
      },
      metrics: { token: 'prometheus-scrape-token-0123456789' },
      streams: { heartbeatMs: 5000, eventIntervalMs: 100 },
      database: { url: 'postgres://aegir:secret@db:5432/aegir', poolSize: 3, connectRetries: 0 },
      catalogue: { dir: '/etc/aegir/catalogue', playbooksDir: resolve('playbooks-here') },
      logging: { level: 'warn' },
    });
    assert.equal(apiEnvironment.validate({ API_PORT: '' }).api.port, 3000, 'empty means unset');
  });

  const refused: [string, string, string][] = [
    ['API_PORT', '0', 'must be an integer from 1 to 65535'],
    ['API_PORT', '65536', 'must be an integer from 1 to 65535'],
    ['API_PORT', 'abc', 'must be an integer from 1 to 65535'],
    ['API_PORT', '3.5', 'must be an integer from 1 to 65535'],
    ['API_PORT', '-1', 'must be an integer from 1 to 65535'],
    ['API_HOST', '', 'must not be empty'],
    ['API_HOST', '  ', 'must not be empty'],
    ['API_RATE_LIMIT', '0', 'must be an integer >= 1'],
    ['API_RATE_WINDOW_SECONDS', 'x', 'must be an integer >= 1'],
    ['API_SSE_HEARTBEAT_MS', '10', 'must be an integer >= 100'],
    ['API_SSE_EVENT_INTERVAL_MS', '0', 'must be an integer from 1 to 10000'],
    [
      'API_CORS_ORIGINS',
      '*',
      'must be a comma-separated list of origins like https://app.example.com (no path, no *)',
    ],
    [
      'API_CORS_ORIGINS',
      'https://app.example.com/path',
      'must be a comma-separated list of origins like https://app.example.com (no path, no *)',
    ],
    [
      'API_ALLOWED_HOSTS',
      'api.example.com:443',
      'must be a comma-separated list of host names or addresses, without ports',
    ],
    ['API_METRICS_TOKEN', 'short', 'must be at least 32 printable characters without spaces'],
    [
      'API_METRICS_TOKEN',
      'a token with spaces that is long enough',
      'must be at least 32 printable characters without spaces',
    ],
    ['API_DOCS', 'yes', 'must be one of on, off'],
    ['DATABASE_POOL_SIZE', '0', 'must be an integer >= 1'],
    ['DATABASE_CONNECT_RETRIES', '-1', 'must be an integer >= 0'],
    ['LOG_LEVEL', 'loud', 'must be one of fatal, error, warn, info, debug, trace, silent'],
  ];
  for (const [name, value, rule] of refused) {
    it(`refuses ${name}=${JSON.stringify(value)}, naming it`, () => {
      assert.throws(() => apiEnvironment.validate({ [name]: value }), {
        name: 'ConfigurationError',
        message: `${name} ${rule}, got ${JSON.stringify(value)}`,
      });
    });
  }

  for (const name of ['AMQP_URL', 'AMQP_PUBLISH_TIMEOUT_MS', 'AMQP_CONNECT_TIMEOUT_MS']) {
    it(`refuses to start with ${name} set: the api never holds broker credentials`, () => {
      assert.throws(() => apiEnvironment.validate({ [name]: 'amqp://guest:guest@broker/' }), {
        name: 'ConfigurationError',
        message:
          `${name} is set, but the api never holds broker credentials: ` +
          "remove every AMQP_* variable from the api's environment",
      });
    });
  }

  it('takes an empty AMQP_URL for unset, as every other variable', () => {
    assert.equal(apiEnvironment.validate({ AMQP_URL: '' }).api.port, 3000);
  });
});
