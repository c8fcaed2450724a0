/**
 * Tokens, roles, scopes, the audit trail and the HTTP limits, against the real api process
 * on a real PostgreSQL: every role on every route, 401/403/404, expiry and revocation,
 * the rows the audit keeps, the rate limits, CORS and the allowed hosts.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Stack, type HttpResponse, type RequestOptions } from '../support/stack';

type Role = 'viewer' | 'operator' | 'admin';
const ROLES: Role[] = ['viewer', 'operator', 'admin'];

interface AuditRow {
  actor: string;
  action: string;
  outcome: string;
  operation_id: string | null;
  source: string | null;
  detail: Record<string, any>;
}

describe('api tokens, roles, scopes and the audit', () => {
  let stack: Stack;
  const tokens = {} as Record<Role, string>;

  before(async () => {
    // the api alone: nothing here needs an operation to run
    stack = await Stack.start({ prefix: 'aegir_e2e_auth', apps: ['api'] });
    for (const role of ROLES) tokens[role] = await stack.createToken(`matrix-${role}`, role);
  });

  after(async () => {
    await stack?.stop();
  });

  const as = (token: string | null): RequestOptions => ({ token });

  /** A queued operation made by the stack's admin, moved to `status` by SQL. */
  async function operation(status = 'queued', type = 'test.echo', target = 'web1') {
    const created = await stack.createOperation(
      type,
      target,
      type === 'test.echo' ? { message: 'm' } : {},
    );
    if (status !== 'queued') {
      await stack.query(`UPDATE operations SET status = $2 WHERE id = $1`, [created.id, status]);
    }
    return created.id as string;
  }

  /** The audit rows matching `where`, waited for: refusals are written once answered. */
  async function auditRows(where: string, params: unknown[], atLeast = 1): Promise<AuditRow[]> {
    for (let i = 0; ; i++) {
      const rows = await stack.query<AuditRow>(
        `SELECT actor, action, outcome, operation_id, source, detail FROM audit_events
          WHERE ${where} ORDER BY id`,
        params,
      );
      if (rows.length >= atLeast || i > 50) return rows;
      await sleep(100);
    }
  }

  describe('every role on every route', () => {
    /** [route, the least role, the request] */
    const routes: [string, Role, () => Promise<[string, string, unknown?]>][] = [
      ['GET /catalogue', 'viewer', async () => ['GET', '/catalogue']],
      ['GET /operations', 'viewer', async () => ['GET', '/operations']],
      ['GET /workers', 'viewer', async () => ['GET', '/workers']],
      ['GET /operations/:id', 'viewer', async () => ['GET', `/operations/${await operation()}`]],
      [
        'GET /operations/:id/log',
        'viewer',
        async () => ['GET', `/operations/${await operation()}/log`],
      ],
      [
        'POST /operations',
        'operator',
        async () => [
          'POST',
          '/operations',
          { type: 'test.echo', target: 'web2', params: { message: 'x' } },
        ],
      ],
      [
        'POST /operations/:id/cancel',
        'operator',
        async () => ['POST', `/operations/${await operation()}/cancel`],
      ],
      [
        'POST /operations/:id/retry',
        'operator',
        async () => ['POST', `/operations/${await operation('failed')}/retry`],
      ],
      ['GET /tokens', 'admin', async () => ['GET', '/tokens']],
      [
        'POST /tokens',
        'admin',
        async () => ['POST', '/tokens', { name: `t-${randomUUID().slice(0, 8)}`, role: 'viewer' }],
      ],
      [
        'DELETE /tokens/:ref',
        'admin',
        async () => {
          const name = `d-${randomUUID().slice(0, 8)}`;
          const made = await stack.request('POST', '/tokens', { name, role: 'viewer' });
          return ['DELETE', `/tokens/${made.body.id}`];
        },
      ],
      ['GET /audit', 'admin', async () => ['GET', '/audit']],
    ];
    const rank = (role: Role) => ROLES.indexOf(role);

    for (const [route, least, make] of routes) {
      it(`${route}: ${least} and above, 403 below, 401 without a token`, async () => {
        for (const role of ROLES) {
          const [method, path, body] = await make();
          const reply = await stack.request(method, path, body, as(tokens[role]));
          if (rank(role) >= rank(least)) {
            assert.ok(
              reply.status === 200 || reply.status === 201,
              `${role}: ${reply.status} ${JSON.stringify(reply.body)}`,
            );
          } else {
            assert.equal(reply.status, 403, `${role}: ${JSON.stringify(reply.body)}`);
            assert.match(
              reply.body.message,
              new RegExp(`^token matrix-${role} has role ${role}; [a-z.]+ needs ${least}$`),
            );
          }
        }
        const [method, path, body] = await make();
        const anonymous = await stack.request(method, path, body, as(null));
        assert.equal(anonymous.status, 401);
        assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="aegir"');
        assert.deepEqual(anonymous.body, {
          statusCode: 401,
          error: 'Unauthorized',
          message: 'a token is required: send Authorization: Bearer <token>',
        });
      });
    }

    it('GET /health answers without a token', async () => {
      const reply = await stack.request('GET', '/health', undefined, as(null));
      assert.deepEqual([reply.status, reply.body], [200, { status: 'ok' }]);
    });

    it('a refused write changes nothing', async () => {
      const id = await operation();
      const before = await stack.query(`SELECT count(*)::int AS n FROM operations`);
      const create = await stack.request(
        'POST',
        '/operations',
        { type: 'test.echo', target: 'web1', params: { message: 'no' } },
        as(tokens.viewer),
      );
      const cancel = await stack.request(
        'POST',
        `/operations/${id}/cancel`,
        undefined,
        as(tokens.viewer),
      );
      assert.deepEqual([create.status, cancel.status], [403, 403]);
      assert.deepEqual(await stack.query(`SELECT count(*)::int AS n FROM operations`), before);
      const [row] = await stack.query(`SELECT status FROM operations WHERE id = $1`, [id]);
      assert.equal(row.status, 'queued');
    });
  });

  describe('bad, expired and revoked tokens', () => {
    const invalid = (reply: HttpResponse, message: string) => {
      assert.equal(reply.status, 401, JSON.stringify(reply.body));
      assert.equal(reply.body.message, message);
      assert.equal(
        reply.headers['www-authenticate'],
        `Bearer realm="aegir", error="invalid_token", error_description="${message}"`,
      );
    };

    it('refuses a token that is not one of ours, or whose secret is wrong', async () => {
      const real = tokens.admin;
      const wrongSecret = `${real.slice(0, -4)}${real.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      for (const token of [
        'nope',
        `aq_${randomUUID()}_${'x'.repeat(43)}`,
        wrongSecret,
        `${real}x`,
      ]) {
        invalid(
          await stack.request('GET', '/operations', undefined, as(token)),
          'the token is not valid',
        );
      }
      const basic = await stack.request('GET', '/operations', undefined, {
        token: null,
        headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
      });
      assert.equal(basic.status, 401);
      assert.equal(basic.body.message, 'the Authorization header must be Bearer <token>');
    });

    it('refuses a token once it has expired', async () => {
      const token = await stack.createToken('soon-gone', 'viewer', ['--expires', '30m']);
      assert.equal((await stack.request('GET', '/operations', undefined, as(token))).status, 200);
      const [row] = await stack.query(
        `SELECT extract(epoch FROM expires_at - created_at)::int AS seconds FROM api_tokens WHERE name = 'soon-gone'`,
      );
      assert.equal(row.seconds, 1800);
      await stack.query(
        `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = 'soon-gone'`,
      );
      invalid(
        await stack.request('GET', '/operations', undefined, as(token)),
        'the token has expired',
      );
    });

    it('refuses a token revoked with aegir token:revoke, at once', async () => {
      const token = await stack.createToken('cli-revoked', 'operator');
      assert.equal((await stack.request('GET', '/catalogue', undefined, as(token))).status, 200);
      const revoked = await stack.aegir(['token:revoke', 'cli-revoked']);
      assert.equal(revoked.code, 0, revoked.stderr);
      invalid(
        await stack.request('GET', '/catalogue', undefined, as(token)),
        'the token has been revoked',
      );
    });

    it('manages tokens over REST: the token once, never its hash; DELETE revokes it', async () => {
      const created = await stack.request('POST', '/tokens', {
        name: 'rest-made',
        role: 'operator',
        types: 'test.*',
        expires: '12h',
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const token = created.body.token as string;
      assert.match(token, /^aq_[0-9a-f-]{36}_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(
        [created.body.name, created.body.role, created.body.types, created.body.targets],
        ['rest-made', 'operator', 'test.*', null],
      );
      const [stored] = await stack.query(`SELECT hash FROM api_tokens WHERE name = 'rest-made'`);
      assert.equal(stored.hash, createHash('sha256').update(token.slice(-43)).digest('hex'));
      const dump = await stack.query(
        `SELECT (SELECT json_agg(t)::text FROM api_tokens t) || (SELECT json_agg(a)::text FROM audit_events a) AS text`,
      );
      assert.ok(!dump[0].text.includes(token.slice(-43)), 'the secret is in no row');

      const listed = await stack.request('GET', '/tokens');
      const entry = listed.body.items.find((item: { name: string }) => item.name === 'rest-made');
      assert.deepEqual(Object.keys(entry).sort(), [
        'createdAt',
        'expiresAt',
        'id',
        'lastUsedAt',
        'name',
        'revokedAt',
        'role',
        'targets',
        'types',
      ]);
      assert.ok(!JSON.stringify(listed.body).includes(stored.hash));

      assert.equal(entry.lastUsedAt, null, 'not used yet');
      const lastUsed = async (): Promise<string | null> => {
        const [row] = await stack.query(
          `SELECT last_used_at::text AS at FROM api_tokens WHERE name = 'rest-made'`,
        );
        return row.at as string | null;
      };
      assert.equal((await stack.request('GET', '/operations', undefined, as(token))).status, 200);
      const firstUse = await lastUsed();
      assert.ok(firstUse, 'the first use is noted');
      assert.equal((await stack.request('GET', '/operations', undefined, as(token))).status, 200);
      assert.equal(await lastUsed(), firstUse, 'noted once a minute, not on every request');
      const gone = await stack.request('DELETE', `/tokens/${created.body.id}`);
      assert.equal(gone.status, 200);
      assert.ok(gone.body.revokedAt);
      assert.equal((await stack.request('GET', '/operations', undefined, as(token))).status, 401);
      assert.equal((await stack.request('DELETE', '/tokens/no-such-token')).status, 404);
    });

    it('answers 400 naming the field for a bad token request, 409 for a name in use', async () => {
      const cases: [object, RegExp][] = [
        [{ name: 'x y', role: 'viewer' }, /^name must be 1 to 64 letters/],
        [{ name: 'ok', role: 'root' }, /^role must be one of viewer, operator, admin, got "root"$/],
        [{ name: 'ok', role: 'viewer', types: 'a b' }, /^types must be a glob/],
        [{ name: 'ok', role: 'viewer', targets: '[web' }, /^targets is not a valid glob/],
        [{ name: 'ok', role: 'viewer', expires: '10y' }, /^expires must be a duration like 30m/],
        [{ name: 'ok', role: 'viewer', hash: 'x' }, /^property hash should not exist$/],
      ];
      for (const [body, message] of cases) {
        const reply = await stack.request('POST', '/tokens', body);
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.ok(
          (reply.body.message as string[]).some((m) => message.test(m)),
          JSON.stringify(reply.body),
        );
      }
      const taken = await stack.request('POST', '/tokens', {
        name: 'matrix-viewer',
        role: 'viewer',
      });
      assert.equal(taken.status, 409);
      assert.equal(taken.body.message, 'a token named matrix-viewer already exists');
    });
  });

  describe('scopes', () => {
    let scoped: string;
    let inside: string;
    let outside: string;

    before(async () => {
      scoped = await stack.createToken('scoped-op', 'operator', [
        '--types',
        'test.*',
        '--targets',
        'web*',
      ]);
      inside = await operation('queued', 'test.echo', 'web-in');
      outside = await operation('queued', 'demo.hello', 'db-out');
    });

    it('creates inside the scope, and refuses a type or target outside it with 403', async () => {
      const ok = await stack.request(
        'POST',
        '/operations',
        { type: 'test.echo', target: 'web9', params: { message: 'in' } },
        as(scoped),
      );
      assert.equal(ok.status, 201);
      assert.equal(ok.body.createdBy, 'token:scoped-op');
      for (const [type, target] of [
        ['demo.hello', 'web1'],
        ['test.echo', 'db1'],
      ]) {
        const reply = await stack.request(
          'POST',
          '/operations',
          { type, target, params: type === 'test.echo' ? { message: 'x' } : {} },
          as(scoped),
        );
        assert.equal(reply.status, 403);
        assert.equal(
          reply.body.message,
          `token scoped-op may act only on types test.* and targets web*; not ${type} on ${target}`,
        );
      }
    });

    it('reads outside the scope answer 404, exactly as an operation that does not exist', async () => {
      assert.equal(
        (await stack.request('GET', `/operations/${inside}`, undefined, as(scoped))).status,
        200,
      );
      for (const path of [`/operations/${outside}`, `/operations/${outside}/log`]) {
        const reply = await stack.request('GET', path, undefined, as(scoped));
        assert.deepEqual(reply, {
          status: 404,
          body: { statusCode: 404, error: 'Not Found', message: `operation ${outside} not found` },
          headers: reply.headers,
        });
      }
      const rows = await auditRows(`operation_id = $1 AND outcome = 'refused'`, [outside], 2);
      assert.deepEqual(
        rows
          .map((row) => [row.actor, row.action, row.detail.status, row.detail.reason])
          .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
        [
          ['token:scoped-op', 'operation.log', 404, "outside the token's types/targets scope"],
          ['token:scoped-op', 'operation.read', 404, "outside the token's types/targets scope"],
        ],
      );
    });

    it('lists only the operations inside the scope, page by page', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page: HttpResponse = await stack.request(
          'GET',
          `/operations?limit=2${query}`,
          undefined,
          as(scoped),
        );
        assert.equal(page.status, 200);
        seen.push(
          ...page.body.items.map(
            (item: { type: string; target: string }) => `${item.type} ${item.target}`,
          ),
        );
        cursor = page.body.nextCursor;
      } while (cursor);
      assert.ok(seen.includes('test.echo web-in'), seen.join(', '));
      assert.ok(
        seen.every((item) => /^test\.\S+ web/.test(item)),
        seen.join(', '),
      );
      const all = await stack.request('GET', '/operations?limit=200');
      assert.ok(all.body.items.length > seen.length);
    });

    it('refuses a cancel or retry outside the scope with 403, changing nothing', async () => {
      const failed = await operation('failed', 'demo.hello', 'db-failed');
      const cancel = await stack.request(
        'POST',
        `/operations/${outside}/cancel`,
        undefined,
        as(scoped),
      );
      const retry = await stack.request(
        'POST',
        `/operations/${failed}/retry`,
        undefined,
        as(scoped),
      );
      assert.deepEqual([cancel.status, retry.status], [403, 403]);
      const rows = await stack.query(
        `SELECT status, cancelled_by, retried_by FROM operations WHERE id = ANY($1::uuid[]) ORDER BY status`,
        [[outside, failed]],
      );
      assert.deepEqual(rows, [
        { status: 'failed', cancelled_by: null, retried_by: null },
        { status: 'queued', cancelled_by: null, retried_by: null },
      ]);
    });

    it('an admin with a scope may not manage tokens or read the audit', async () => {
      const admin = await stack.createToken('scoped-admin', 'admin', ['--targets', 'web*']);
      for (const path of ['/tokens', '/audit']) {
        const reply = await stack.request('GET', path, undefined, as(admin));
        assert.equal(reply.status, 403);
        assert.match(reply.body.message, /needs an admin token without a scope$/);
      }
    });
  });

  describe('the audit trail', () => {
    it('records who created, cancelled and retried, on the operation and in the audit', async () => {
      const operator = await stack.createToken('auditor-op', 'operator');
      const created = await stack.request(
        'POST',
        '/operations',
        { type: 'test.echo', target: 'audit-host', params: { message: 'a' } },
        as(operator),
      );
      const id = created.body.id as string;
      const cancelled = await stack.request(
        'POST',
        `/operations/${id}/cancel`,
        { reason: 'audit' },
        as(operator),
      );
      const retried = await stack.request(
        'POST',
        `/operations/${id}/retry`,
        undefined,
        as(tokens.admin),
      );
      assert.deepEqual([created.status, cancelled.status, retried.status], [201, 200, 201]);
      const shown = (await stack.request('GET', `/operations/${id}`)).body;
      assert.deepEqual(
        [shown.createdBy, shown.cancelledBy, shown.retryRequestedBy, shown.retriedBy],
        ['token:auditor-op', 'token:auditor-op', 'token:matrix-admin', retried.body.id],
      );
      assert.equal(retried.body.createdBy, 'token:matrix-admin');

      const rows = await auditRows(`operation_id = $1 AND outcome = 'ok'`, [id], 3);
      assert.deepEqual(
        rows.map((row) => [row.actor, row.action, row.source]),
        [
          ['token:auditor-op', 'operation.create', '127.0.0.1'],
          ['token:auditor-op', 'operation.cancel', '127.0.0.1'],
          ['token:matrix-admin', 'operation.retry', '127.0.0.1'],
        ],
      );
      assert.equal(rows[2].detail.retryId, retried.body.id);
    });

    it('records refused requests: 401, 403, 415, 400, with who, what, the status and the message', async () => {
      const marker = `audit-${randomUUID().slice(0, 8)}`;
      const [{ since }] = await stack.query(
        `SELECT coalesce(max(id), 0) AS since FROM audit_events`,
      );
      await stack.request('GET', `/operations?target=${marker}`, undefined, as(null));
      await stack.request(
        'POST',
        '/operations',
        { type: 'test.echo', target: marker, params: { message: 'x' } },
        as(tokens.viewer),
      );
      await stack.request('POST', '/operations', `type=test.echo&target=${marker}`, {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      await stack.request('POST', '/operations', {
        type: 'test.echo',
        target: marker,
        params: { message: 5 },
      });
      // each refusal is written once its answer has gone, so rows of quick answers may swap
      const rows = (await auditRows(`id > $1 AND outcome = 'refused'`, [since], 4)).sort(
        (a, b) => a.detail.status - b.detail.status,
      );
      assert.deepEqual(
        rows.map((row) => [row.actor, row.action, row.detail.status, row.source]),
        [
          ['token:stack-admin', 'operation.create', 400, '127.0.0.1'],
          ['anonymous', 'operation.list', 401, '127.0.0.1'],
          ['token:matrix-viewer', 'operation.create', 403, '127.0.0.1'],
          // refused before the token is read
          ['anonymous', 'http POST /api/v1/operations', 415, '127.0.0.1'],
        ],
      );
      const [invalid, unauthenticated, forbidden, notJson] = rows;
      assert.equal(invalid.detail.message, 'params.message must be string');
      assert.equal(unauthenticated.detail.credentials, 'missing');
      assert.match(forbidden.detail.message, /has role viewer; operation.create needs operator/);
      assert.equal(notJson.detail.message, 'request bodies must be application/json');
    });

    it('GET /audit pages the trail newest first, with filters', async () => {
      const first = await stack.request('GET', '/audit?action=operation.create&outcome=ok&limit=2');
      assert.equal(first.status, 200);
      assert.equal(first.body.items.length, 2);
      assert.ok(
        first.body.items.every((item: { action: string }) => item.action === 'operation.create'),
      );
      assert.ok(first.body.items[0].id > first.body.items[1].id);
      const next = await stack.request(
        'GET',
        `/audit?action=operation.create&outcome=ok&limit=2&cursor=${first.body.nextCursor}`,
      );
      assert.ok(next.body.items[0].id < first.body.items[1].id);
      const byActor = await stack.request('GET', '/audit?actor=token:auditor-op');
      assert.deepEqual(
        [...new Set(byActor.body.items.map((item: { actor: string }) => item.actor))],
        ['token:auditor-op'],
      );
      for (const [query, message] of [
        ['outcome=maybe', /^outcome must be one of the following values/],
        ['limit=0', /^limit must not be less than 1$/],
        ['cursor=bogus', /^cursor is not valid$/],
        ['operationId=x', /^operationId must be a UUID$/],
      ] as const) {
        const reply = await stack.request('GET', `/audit?${query}`);
        assert.equal(reply.status, 400, query);
        assert.ok(
          (reply.body.message as string[]).some((m) => message.test(m)),
          JSON.stringify(reply.body),
        );
      }
    });
  });

  describe('rate limits, CORS and allowed hosts (the api restarted with each setting)', () => {
    it('answers 429 with Retry-After past the limit, per token, and per address without one', async () => {
      // a second token of the same role: the budget is the token's, not its role's
      const otherViewer = await stack.createToken('rate-viewer-b', 'viewer');
      await stack.app('api').stop();
      await stack.startApp('api', {
        API_RATE_LIMIT: '5',
        API_RATE_LIMIT_ANONYMOUS: '3',
        API_RATE_WINDOW_SECONDS: '30',
      });
      const statuses = async (token: string | null, n: number, path = '/catalogue') => {
        const seen: number[] = [];
        let last: HttpResponse | undefined;
        for (let i = 0; i < n; i++) {
          last = await stack.request('GET', path, undefined, as(token));
          seen.push(last.status);
        }
        return { seen, last: last! };
      };
      const viewer = await statuses(tokens.viewer, 6);
      assert.deepEqual(viewer.seen, [200, 200, 200, 200, 200, 429]);
      const retryAfter = Number(viewer.last.headers['retry-after']);
      assert.ok(
        retryAfter >= 1 && retryAfter <= 30,
        `Retry-After: ${viewer.last.headers['retry-after']}`,
      );
      assert.equal(viewer.last.body.statusCode, 429);
      // the other token has the whole budget to itself, while the first is still refused
      assert.deepEqual((await statuses(otherViewer, 6)).seen, [200, 200, 200, 200, 200, 429]);
      assert.deepEqual((await statuses(tokens.operator, 1)).seen, [200]);
      // one budget across every route
      assert.deepEqual((await statuses(tokens.viewer, 1, '/operations')).seen, [429]);
      // health has none
      assert.deepEqual(
        (
          await Promise.all(
            [1, 2, 3, 4, 5, 6].map(() => stack.request('GET', '/health', undefined, as(null))),
          )
        ).map((r) => r.status),
        [200, 200, 200, 200, 200, 200],
      );
      const anonymous = await statuses(null, 4);
      assert.deepEqual(anonymous.seen, [401, 401, 401, 429]);
      assert.ok(Number(anonymous.last.headers['retry-after']) >= 1);
      const rows = await auditRows(`detail->>'status' = '429'`, [], 4);
      assert.deepEqual(
        rows.map((row) => [row.actor, row.action]),
        [
          ['token:matrix-viewer', 'catalogue.read'],
          ['token:rate-viewer-b', 'catalogue.read'],
          ['token:matrix-viewer', 'operation.list'],
          ['anonymous', 'catalogue.read'],
        ],
      );
    });

    it('sends no CORS headers unless API_CORS_ORIGINS lists the origin', async () => {
      const origin = { origin: 'https://app.example.com' };
      const plain = await stack.request('GET', '/catalogue', undefined, { headers: origin });
      assert.equal(plain.headers['access-control-allow-origin'], undefined);

      await stack.app('api').stop();
      await stack.startApp('api', {
        API_CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      });
      const preflight = await stack.request('OPTIONS', '/operations', undefined, {
        token: null,
        headers: {
          ...origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/);
      assert.match(String(preflight.headers['access-control-allow-headers']), /X-Request-Id/);
      const allowed = await stack.request('GET', '/catalogue', undefined, { headers: origin });
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.match(String(allowed.headers['access-control-expose-headers']), /X-Request-Id/);
      const other = await stack.request('GET', '/catalogue', undefined, {
        headers: { origin: 'https://evil.example' },
      });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
    });

    it('with API_ALLOWED_HOSTS answers 421 for any other Host, and health for any', async () => {
      await stack.app('api').stop();
      await stack.startApp('api', { API_ALLOWED_HOSTS: 'api.example.com,127.0.0.1' });
      const named = await stack.request('GET', '/catalogue', undefined, {
        headers: { host: 'API.example.com:8443' },
      });
      assert.equal(named.status, 200);
      assert.equal((await stack.request('GET', '/catalogue')).status, 200);
      const rebound = await stack.request('GET', '/catalogue', undefined, {
        headers: { host: 'attacker.example:3000' },
      });
      assert.deepEqual(rebound.body, {
        statusCode: 421,
        error: 'Misdirected Request',
        message: 'host "attacker.example" is not one this api answers to (API_ALLOWED_HOSTS)',
      });
      const health = await stack.request('GET', '/health', undefined, {
        token: null,
        headers: { host: 'attacker.example' },
      });
      assert.equal(health.status, 200);
      const [row] = await auditRows(`detail->>'status' = '421'`, []);
      assert.deepEqual([row.action, row.outcome], ['http GET /api/v1/catalogue', 'refused']);
    });

    it('refuses to start with a bad list, naming the variable', async () => {
      await stack.app('api').stop();
      await assert.rejects(
        stack.startApp('api', { API_CORS_ORIGINS: '*' }),
        /API_CORS_ORIGINS must be a comma-separated list of origins/,
      );
      await stack.startApp('api');
    });
  });
});
