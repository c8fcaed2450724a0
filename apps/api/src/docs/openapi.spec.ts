/**
 * The api's OpenAPI document and Swagger UI, on the real app and a real PostgreSQL: the
 * document validates, names every route the app's router holds (found there, not listed
 * here), and what each route really answers to no token, a viewer and an admin is in it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { METHODS, request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { OpenAPIObject, OperationObject, ResponseObject } from '@nestjs/swagger';
import { ApiTokenRepository } from '@app/database';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { createTestKeys, type TestKeys } from '../../../../test/support/keys';
import { createApiApp } from '../app';
import { answersAnyHost } from '../http/allowed-hosts';
import { isDocsPath } from '../http/security-headers';
import { WITH_BODY } from '../http/json-bodies-only';

const root = resolve(__dirname, '../../../../..');
const fixtures = {
  CATALOGUE_DIR: join(root, 'test/fixtures/catalogue'),
  PLAYBOOKS_DIR: join(root, 'test/fixtures/playbooks'),
};

interface Route {
  method: string;
  /** Express's form: `/api/v1/operations/:id`. */
  path: string;
}

const routeName = (route: Route): string => `${route.method} ${route.path}`;

/** `/api/v1/operations/:id` → `/api/v1/operations/{id}`, as the document writes it. */
const documentPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

/**
 * Every route the app's Express router holds, but Swagger UI's own. A layer that answers
 * every method is middleware that Nest mounts with `all()` (the logger's `{*path}`), not a route.
 */
function registeredRoutes(app: NestExpressApplication): Route[] {
  type Layer = { route?: { path: string | string[]; methods: Record<string, boolean> } };
  const express = app.getHttpAdapter().getInstance() as { router: { stack: Layer[] } };
  const routes: Route[] = [];
  for (const layer of express.router.stack) {
    if (!layer.route) continue;
    const methods = layer.route.methods;
    if (METHODS.every((method) => methods[method.toLowerCase()])) continue;
    for (const path of [layer.route.path].flat()) {
      if (isDocsPath(path)) continue;
      for (const method of Object.keys(layer.route.methods)) {
        if (method !== '_all') routes.push({ method: method.toUpperCase(), path });
      }
    }
  }
  return routes;
}

describe('the OpenAPI document and Swagger UI', () => {
  let db: TestDatabase;
  let keys: TestKeys;
  let app: NestExpressApplication;
  let base: string;
  let document: OpenAPIObject;
  let routes: Route[];
  const tokens = { viewer: '', admin: '' };

  const operationOf = (route: Route): OperationObject | undefined =>
    document.paths[documentPath(route.path)]?.[
      route.method.toLowerCase() as 'get' | 'post' | 'delete'
    ];

  /** The route called as `token` (none: anonymous) with random ids, and a `{}` body if it takes one. */
  async function probe(route: Route, token: string | null) {
    const path = route.path.replace(/:(\w+)/g, () => randomUUID());
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const withBody = WITH_BODY.has(route.method);
    if (withBody) headers['content-type'] = 'application/json';
    const response = await fetch(`${base}${path}`, {
      method: route.method,
      headers,
      body: withBody ? '{}' : undefined,
      signal: AbortSignal.timeout(5000),
    });
    // a stream (SSE) answers 200 and goes on: its status and headers are enough
    const body: unknown = response.status >= 400 ? await response.json() : undefined;
    if (body === undefined) await response.body?.cancel();
    return { status: response.status, headers: response.headers, body };
  }

  /** GET with a Host header of our choosing (fetch does not let one be set). */
  function getWithHost(path: string, host: string): Promise<number> {
    return new Promise((done, fail) => {
      const url = new URL(path, base);
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, headers: { host } },
        (res) => {
          res.resume();
          done(res.statusCode ?? 0);
        },
      );
      req.on('error', fail);
      req.end();
    });
  }

  before(async () => {
    db = await createTestDatabase('aegir_test_openapi');
    keys = createTestKeys();
    Object.assign(process.env, fixtures, keys.apiEnv(), {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'warn',
      // the docs must load with the Host check on, as a production api runs
      API_ALLOWED_HOSTS: '127.0.0.1',
    });
    app = await createApiApp();
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const repository = app.get(ApiTokenRepository);
    tokens.viewer = (await repository.create({ name: 'docs-viewer', role: 'viewer' })).token;
    tokens.admin = (await repository.create({ name: 'docs-admin', role: 'admin' })).token;
    const response = await fetch(`${base}/api/docs-json`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    document = (await response.json()) as OpenAPIObject;
    routes = registeredRoutes(app);
  });

  after(async () => {
    await app?.close();
    delete process.env.API_ALLOWED_HOSTS;
    await db?.drop();
    keys?.remove();
  });

  it('serves, without a token, an OpenAPI 3 document that validates', async () => {
    assert.match(document.openapi, /^3\./);
    // validate() dereferences the object it is given
    await SwaggerParser.validate(structuredClone(document) as never);
    const scheme = document.components?.securitySchemes?.token as
      { type?: string; scheme?: string } | undefined;
    assert.equal(scheme?.type, 'http');
    assert.equal(scheme?.scheme, 'bearer');
  });

  it('has every route the app registers, with its method, and no route the app lacks', () => {
    const names = routes.map(routeName);
    // the router was read: the routes every api has are among them
    for (const known of ['GET /api/v1/operations', 'POST /api/v1/operations/:id/cancel']) {
      assert.ok(names.includes(known), `${known} among the registered routes: ${names.join(', ')}`);
    }
    const missing = routes.filter((route) => !operationOf(route)).map(routeName);
    assert.deepEqual(missing, [], `routes missing from /api/docs-json: ${missing.join(', ')}`);
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => ['get', 'post', 'put', 'patch', 'delete'].includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    const registered = new Set(
      routes.map((route) => `${route.method} ${documentPath(route.path)}`),
    );
    const stale = documented.filter((name) => !registered.has(name));
    assert.deepEqual(stale, [], `documented but not registered: ${stale.join(', ')}`);
  });

  it('documents each route with a success answer and the refusals every route can give', () => {
    const problems: string[] = [];
    for (const route of routes) {
      const operation = operationOf(route);
      if (!operation) continue; // the test above names it
      const codes = Object.keys(operation.responses);
      const name = routeName(route);
      const success = codes.filter((code) => /^2\d\d$/.test(code));
      if (success.length === 0) problems.push(`${name}: no 2xx answer`);
      for (const code of success) {
        const answer = operation.responses[code] as ResponseObject;
        if (!answer.content || Object.keys(answer.content).length === 0)
          problems.push(`${name}: ${code} has no content`);
      }
      const expected = [400, ...(answersAnyHost(route.path) ? [] : [421])];
      if (WITH_BODY.has(route.method)) expected.push(413, 415);
      for (const code of expected) {
        if (!codes.includes(String(code))) problems.push(`${name}: ${code} is not documented`);
      }
      for (const code of codes.filter((c) => /^4\d\d$/.test(c))) {
        const json = (operation.responses[code] as ResponseObject).content?.['application/json'];
        if (
          (json?.schema as { $ref?: string } | undefined)?.$ref !==
          '#/components/schemas/ErrorAnswer'
        )
          problems.push(`${name}: ${code} is not an ErrorAnswer`);
        if (!json?.examples || Object.keys(json.examples).length === 0)
          problems.push(`${name}: ${code} has no example`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('documents bearer auth, 401 and 429 on each route that refuses an anonymous request, and none on the open ones', async () => {
    const problems: string[] = [];
    const open: string[] = [];
    for (const route of routes) {
      const operation = operationOf(route);
      if (!operation) continue;
      const name = routeName(route);
      const answer = await probe(route, null);
      const bearer = (operation.security ?? []).some((requirement) => 'token' in requirement);
      if (answer.status !== 401) {
        open.push(name);
        if (bearer) problems.push(`${name}: documented with a token, answered ${answer.status}`);
        continue;
      }
      assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer realm="aegir"/);
      if (!bearer) problems.push(`${name}: answers 401 but documents no bearer auth`);
      const responses = operation.responses as Record<string, ResponseObject>;
      if (!responses['401']?.headers?.['WWW-Authenticate'])
        problems.push(`${name}: no 401 with WWW-Authenticate`);
      if (!responses['429']?.headers?.['Retry-After'])
        problems.push(`${name}: no 429 with Retry-After`);
    }
    assert.deepEqual(problems, []);
    // the anonymous probe did reach the open route every api has
    assert.ok(open.includes('GET /api/v1/health'), open.join(', '));
  });

  it('documents what each route answers to a viewer and to an admin, in the ErrorAnswer shape', async () => {
    const problems: string[] = [];
    const seen: string[] = [];
    for (const route of routes) {
      const operation = operationOf(route);
      if (!operation) continue;
      for (const [role, token] of Object.entries(tokens)) {
        const answer = await probe(route, token);
        const name = `${routeName(route)} as ${role}`;
        seen.push(`${name}: ${answer.status}`);
        if (!(String(answer.status) in operation.responses))
          problems.push(`${name} answered ${answer.status}, which is not documented`);
        if (answer.status >= 400) {
          const body = answer.body as { statusCode?: unknown; message?: unknown };
          if (
            body.statusCode !== answer.status ||
            !['string', 'object'].includes(typeof body.message)
          )
            problems.push(`${name}: ${JSON.stringify(body)} is not an ErrorAnswer`);
        }
      }
    }
    assert.deepEqual(problems, [], seen.join('\n'));
    // the probes reached the refusals that matter: a role below the route's, a missing id
    assert.ok(seen.includes('POST /api/v1/operations as viewer: 403'), seen.join('\n'));
    assert.ok(seen.includes('GET /api/v1/operations/:id as admin: 404'), seen.join('\n'));
    assert.ok(seen.includes('POST /api/v1/operations as admin: 400'), seen.join('\n'));
  });

  it('answers /api/docs with the Swagger UI page, whose every script and style loads under its CSP', async () => {
    const page = await fetch(`${base}/api/docs`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const html = await page.text();
    assert.match(html, /<div id="swagger-ui"><\/div>/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self' 'unsafe-inline'(;|$)/);
    assert.doesNotMatch(csp, /upgrade-insecure-requests/);
    // script-src 'self' allows no inline script: every one must be a file
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((match) => match[1]);
    assert.ok(scripts.length >= 3);
    assert.ok(
      scripts.every((attributes) => /\bsrc=/.test(attributes)),
      `an inline script: ${scripts.join(' | ')}`,
    );
    const assets = [...html.matchAll(/(?:src|href)=["']([^"']+)["']/g)].map((match) => match[1]);
    assert.ok(
      assets.some((asset) => asset.endsWith('swagger-ui-bundle.js')),
      assets.join(', '),
    );
    for (const asset of assets) {
      const url = new URL(asset, `${base}/api/docs`);
      assert.equal(url.origin, new URL(base).origin, `${asset} is same-origin`);
      const response = await fetch(url);
      assert.equal(response.status, 200, `${url.pathname}`);
      assert.match(
        response.headers.get('content-type') ?? '',
        /javascript|css|image\/png/,
        url.pathname,
      );
      const text = await response.text();
      if (url.pathname.endsWith('swagger-ui-init.js')) assert.match(text, /\/api\/v1\/operations/);
    }
  });

  it('keeps helmet’s own CSP on every other answer, and the Host check on the docs', async () => {
    const health = await fetch(`${base}/api/v1/health`);
    const csp = health.headers.get('content-security-policy') ?? '';
    assert.match(csp, /upgrade-insecure-requests/);
    assert.match(csp, /style-src 'self' https: 'unsafe-inline'/);
    assert.equal(await getWithHost('/api/docs', 'rebound.example'), 421);
    assert.equal(await getWithHost('/api/docs-json', 'rebound.example'), 421);
    assert.equal(await getWithHost('/api/docs', '127.0.0.1'), 200);
  });

  it('serves neither the page nor the document with API_DOCS=off', async () => {
    process.env.API_DOCS = 'off';
    const quiet = await createApiApp();
    try {
      await quiet.listen(0, '127.0.0.1');
      const url = (await quiet.getUrl()).replace('[::1]', '127.0.0.1');
      for (const path of ['/api/docs', '/api/docs-json']) {
        const response = await fetch(`${url}${path}`);
        await response.body?.cancel();
        assert.equal(response.status, 404, path);
      }
    } finally {
      delete process.env.API_DOCS;
      await quiet.close();
    }
  });
});
