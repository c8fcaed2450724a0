/**
 * The apps' container health checks (dist/apps/<app>/src/health.js, run by the image's
 * HEALTHCHECK through docker/healthcheck.sh): each asks its app's own GET /health/ready on
 * the port the app's settings give, exits 0 on 200 and 1 otherwise, naming what the app
 * says is down. Here a stand-in server answers as Terminus does; test/e2e/observability
 * asks the real apps.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freeLocalPort } from '@app/platform';

const repoRoot = resolve(__dirname, '..', '..', '..');
/** Required settings the health checks do not read (as the Compose file sets them). */
const required = {
  api: {},
  relay: { RELAY_SIGNING_KEY_FILE: '/run/aegir/relay-signing.key' },
  dispatcher: {
    DISPATCHER_SIGNING_PUBLIC_KEY_FILE: '/run/aegir/relay-signing.pub',
    DISPATCHER_SEALING_KEY_FILE: '/run/aegir/sealing-default.key',
  },
};
/** Each app's port and host variables. */
const portOf = {
  api: ['API_PORT', 'API_HOST'],
  relay: ['RELAY_HTTP_PORT', 'RELAY_HTTP_HOST'],
  dispatcher: ['DISPATCHER_HTTP_PORT', 'DISPATCHER_HTTP_HOST'],
} as const;

type App = keyof typeof required;

function healthCheck(
  app: App,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const script = join(repoRoot, 'dist', 'apps', app, 'src', 'health.js');
  return new Promise((done) => {
    execFile(
      process.execPath,
      [script],
      { env: { PATH: process.env.PATH, ...required[app], ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? null) : 0;
        done({ code, output: stdout + stderr });
      },
    );
  });
}

describe('container health checks: GET /health/ready of the app', () => {
  let server: Server;
  let port: number;
  let closedPort: number;
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  const paths: string[] = [];

  before(async () => {
    server = createServer((request, response) => {
      paths.push(request.url ?? '');
      response
        .writeHead(answer.status, { 'content-type': 'application/json' })
        .end(JSON.stringify(answer.body));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as { port: number }).port;
    closedPort = await freeLocalPort();
  });
  after(() => new Promise<void>((done) => server.close(() => done())));

  for (const app of ['api', 'relay', 'dispatcher'] as const) {
    const [portVariable, hostVariable] = portOf[app];

    describe(app, () => {
      it(`exits 0 when it answers 200, asked on ${portVariable} (any address: loopback)`, async () => {
        answer = { status: 200, body: { status: 'ok', info: {}, error: {}, details: {} } };
        const result = await healthCheck(app, {
          [portVariable]: String(port),
          [hostVariable]: '0.0.0.0',
        });
        assert.equal(result.code, 0, result.output);
        assert.match(result.output, new RegExp(`^${app} healthy: ready`));
        assert.equal(paths.at(-1), '/health/ready');
      });

      it('exits 1 naming what the app says is down', async () => {
        answer = {
          status: 503,
          body: {
            status: 'error',
            info: {},
            error: { database: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:1' } },
            details: {},
          },
        };
        const result = await healthCheck(app, { [portVariable]: String(port) });
        assert.equal(result.code, 1, result.output);
        assert.match(
          result.output,
          new RegExp(`${app} unhealthy: ready: .* answered 503 \\(database: connect ECONNREFUSED`),
        );
      });

      it('exits 1 when nothing listens', async () => {
        const result = await healthCheck(app, { [portVariable]: String(closedPort) });
        assert.equal(result.code, 1, result.output);
        assert.match(result.output, /ECONNREFUSED/);
      });

      it('exits 1 naming a bad setting', async () => {
        const result = await healthCheck(app, { [portVariable]: 'eighty' });
        assert.equal(result.code, 1, result.output);
        assert.match(result.output, new RegExp(portVariable));
      });
    });
  }

  it('relay and dispatcher: exit 1 when their HTTP port is off (0)', async () => {
    for (const app of ['relay', 'dispatcher'] as const) {
      const result = await healthCheck(app, { [portOf[app][0]]: '0' });
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /HTTP port is 0 \(off\)/);
    }
  });
});
