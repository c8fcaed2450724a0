/**
 * The apps' container health checks (dist/apps/<app>/src/health.js, run by the image's
 * HEALTHCHECK): each exits 0 when what its app needs answers and 1, naming what failed,
 * when it does not. Against the real local PostgreSQL and RabbitMQ, reading only.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freeLocalPort } from '@app/platform';

const repoRoot = resolve(__dirname, '..', '..', '..');
const databaseUrl =
  process.env.TEST_DATABASE_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const brokerUrl = process.env.TEST_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672/';
/** Required settings the health checks do not read (as the Compose file sets them). */
const keyFiles = {
  relay: { RELAY_SIGNING_KEY_FILE: '/run/aegir/relay-signing.key' },
  dispatcher: { DISPATCHER_SIGNING_PUBLIC_KEY_FILE: '/run/aegir/relay-signing.pub' },
};

function healthCheck(
  app: 'api' | 'relay' | 'dispatcher',
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const script = join(repoRoot, 'dist', 'apps', app, 'src', 'health.js');
  return new Promise((done) => {
    execFile(
      process.execPath,
      [script],
      {
        env: { PATH: process.env.PATH, ...(app === 'api' ? {} : keyFiles[app]), ...env },
        timeout: 20_000,
      },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? null) : 0;
        done({ code, output: stdout + stderr });
      },
    );
  });
}

describe('container health checks', () => {
  let closedPort: number;
  before(async () => {
    closedPort = await freeLocalPort();
  });

  describe('api: its HTTP port answers', () => {
    let server: Server;
    let status = 200;
    let port: number;
    const paths: string[] = [];
    before(async () => {
      server = createServer((request, response) => {
        paths.push(request.url ?? '');
        response.writeHead(status).end('[]');
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      port = (server.address() as { port: number }).port;
    });
    after(() => new Promise<void>((done) => server.close(() => done())));

    it('exits 0 when GET /api/v1/health answers 200, on the port the api is set to', async () => {
      status = 200;
      const result = await healthCheck('api', { API_HOST: '0.0.0.0', API_PORT: String(port) });
      assert.equal(result.code, 0, result.output);
      assert.deepEqual(paths.at(-1), '/api/v1/health');
    });

    it('exits 1 when it answers an error', async () => {
      status = 503;
      const result = await healthCheck('api', { API_PORT: String(port) });
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /api unhealthy: http: .*503/);
    });

    it('exits 1 when nothing listens', async () => {
      const result = await healthCheck('api', { API_PORT: String(closedPort) });
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /ECONNREFUSED/);
    });

    it('exits 1 naming a bad setting', async () => {
      const result = await healthCheck('api', { API_PORT: 'eighty' });
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /API_PORT/);
    });
  });

  describe('relay: PostgreSQL and RabbitMQ answer', () => {
    it('exits 0 when both answer', async () => {
      const result = await healthCheck('relay', { DATABASE_URL: databaseUrl, AMQP_URL: brokerUrl });
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /relay healthy: database, broker/);
    });

    it('exits 1 naming the broker when it does not answer', async () => {
      const result = await healthCheck('relay', {
        DATABASE_URL: databaseUrl,
        AMQP_URL: `amqp://guest:guest@127.0.0.1:${closedPort}/`,
      });
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /relay unhealthy: broker: /);
      assert.doesNotMatch(result.output, /database:/);
    });

    it('exits 1 naming the database when it does not answer', async () => {
      const result = await healthCheck('relay', {
        DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/postgres`,
        AMQP_URL: brokerUrl,
      });
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /relay unhealthy: database: /);
    });
  });

  describe('dispatcher: RabbitMQ answers, its work and state dirs are writable', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'aegir-health-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('exits 0 when they are', async () => {
      const result = await healthCheck('dispatcher', {
        DISPATCHER_SEALING_KEY_FILE: join(dir, 'sealing-default.key'),
        AMQP_URL: brokerUrl,
        DISPATCHER_WORK_DIR: dir,
        DISPATCHER_STATE_DIR: join(dir, 'state', 'not-made-yet'),
      });
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /dispatcher healthy: broker, work dir, state dir/);
    });

    it('exits 1 naming the work dir when it is missing', async () => {
      const result = await healthCheck('dispatcher', {
        DISPATCHER_SEALING_KEY_FILE: join(dir, 'sealing-default.key'),
        AMQP_URL: brokerUrl,
        DISPATCHER_WORK_DIR: join(dir, 'missing'),
        DISPATCHER_STATE_DIR: dir,
      });
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /dispatcher unhealthy: work dir: ENOENT/);
    });

    it('exits 1 naming the broker when it does not answer', async () => {
      const result = await healthCheck('dispatcher', {
        DISPATCHER_SEALING_KEY_FILE: join(dir, 'sealing-default.key'),
        AMQP_URL: `amqp://guest:guest@127.0.0.1:${closedPort}/`,
        DISPATCHER_WORK_DIR: dir,
        DISPATCHER_STATE_DIR: dir,
      });
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /dispatcher unhealthy: broker: /);
    });
  });
});
