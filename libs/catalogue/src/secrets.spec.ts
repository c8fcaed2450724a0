import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SECRET_MASK, type SealedValue } from '@app/contracts';
import { Catalogue } from './catalogue';
import { CatalogueError, PlanError } from './catalogue-errors';
import { loadCatalogue } from './load';
import { poolsWithSecrets, sealPlan, type Sealer } from './plan-sealer';

const roots: string[] = [];
after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** A catalogue of one command type with these params (YAML flow text) and argv. */
function load(params: string, argv = '["true"]'): Catalogue {
  const root = mkdtempSync(join(tmpdir(), 'aegir-secrets-'));
  roots.push(root);
  mkdirSync(join(root, 'catalogue'));
  mkdirSync(join(root, 'playbooks'));
  writeFileSync(
    join(root, 'catalogue', 'x.yml'),
    `name: x.secret\ndescription: test\npool: vault\nparams: ${params}\ntasks:\n  - name: run\n    runner: command\n    argv: ${argv}\n`,
  );
  return loadCatalogue({ dir: join(root, 'catalogue'), playbooksDir: join(root, 'playbooks') });
}

function loadError(params: string, argv?: string): string {
  try {
    load(params, argv);
  } catch (error) {
    assert.ok(error instanceof CatalogueError, String(error));
    return error.message;
  }
  assert.fail('loaded');
}

function planError(action: () => unknown): PlanError {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof PlanError, String(error));
    return error;
  }
  assert.fail('planned');
}

const JWE = 'eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.a2V5.aXY.Y2lwaGVy.dGFn';
const schema = `{type: object, required: [password], properties: {password: {type: string, minLength: 4, secret: true}, user: {type: string}}}`;

describe('catalogue: secret parameters', () => {
  it('lists the secret params of a type, and keeps `secret` in the schema it shows', () => {
    const catalogue = load(schema);
    const type = catalogue.get('x.secret')!;
    assert.deepEqual(type.secretParams, ['password']);
    assert.deepEqual((type.paramsSchema.properties as any).password, {
      type: 'string',
      minLength: 4,
      secret: true,
    });
    assert.deepEqual(poolsWithSecrets(catalogue), ['vault']);
    assert.deepEqual(
      load('{type: object, properties: {a: {type: string, secret: false}}}').get('x.secret')!
        .secretParams,
      [],
    );
  });

  it('refuses a secret that is not a plain string given by the client', () => {
    const cases: [string, RegExp][] = [
      [
        `{type: object, properties: {p: {type: integer, secret: true}}}`,
        /params\.properties\.p: a secret must have type string/,
      ],
      [
        `{type: object, properties: {p: {type: string, secret: "yes"}}}`,
        /params\.properties\.p\.secret must be boolean/,
      ],
      [
        `{type: object, properties: {p: {type: string, secret: true, default: hunter2}}}`,
        /params\.properties\.p\.default is not allowed on a secret/,
      ],
      [
        `{type: object, properties: {p: {type: string, secret: true, enum: [a, b]}}}`,
        /params\.properties\.p\.enum is not allowed on a secret/,
      ],
      [
        `{type: object, properties: {p: {type: string, secret: true}}, anyOf: [{required: [p]}]}`,
        /params\.anyOf is not allowed in a type with secret parameters/,
      ],
      [
        `{type: object, properties: {p: {type: object, properties: {q: {type: string, secret: true}}}}}`,
        /unknown keyword: "secret"/,
      ],
    ];
    for (const [params, message] of cases) assert.match(loadError(params), message, params);
  });

  it('refuses a secret in argv: it would be in the command line', () => {
    assert.match(
      loadError(schema, '[echo, "{{ params.password }}"]'),
      /params\.password is secret: it reaches a task only in the vars file, never in argv/,
    );
  });

  it('plan() checks the value in clear; planStored() and resolveTask() take it only sealed', () => {
    const catalogue = load(schema);
    const plan = catalogue.plan({
      type: 'x.secret',
      target: 'web1',
      params: { password: 'hunter2' },
    });
    assert.deepEqual(plan.params, { password: 'hunter2' });
    assert.equal(
      planError(() =>
        catalogue.plan({ type: 'x.secret', target: 'web1', params: { password: 'abc' } }),
      ).message,
      'params.password must NOT have fewer than 4 characters',
    );
    assert.equal(
      planError(() =>
        catalogue.plan({ type: 'x.secret', target: 'web1', params: { password: { sealed: JWE } } }),
      ).message,
      'params.password must be string',
    );
    assert.match(
      planError(() =>
        catalogue.plan({
          type: 'x.secret',
          target: 'web1',
          params: { password: 'x'.repeat(4097) },
        }),
      ).message,
      /^params\.password must NOT have more than 4096 characters$/,
    );
    const stored = catalogue.planStored({
      type: 'x.secret',
      target: 'web1',
      params: { password: { sealed: JWE } },
    });
    assert.deepEqual(stored.params, { password: { sealed: JWE } });
    for (const bad of ['hunter2', { sealed: 'not a jwe' }, { sealed: JWE, extra: 1 }]) {
      assert.equal(
        planError(() =>
          catalogue.planStored({ type: 'x.secret', target: 'web1', params: { password: bad } }),
        ).message,
        'params.password is a secret: it must be stored sealed, as {"sealed": "<JWE>"}',
      );
    }
    const context = { operationId: 'op', type: 'x.secret', target: 'web1' };
    assert.equal(
      catalogue.resolveTask({ ...context, params: { password: { sealed: JWE } } }, 'run').name,
      'run',
    );
    assert.throws(
      () => catalogue.resolveTask({ ...context, params: { password: 'hunter2' } }, 'run'),
      PlanError,
    );
  });

  it('sealPlan() seals each secret param to the pool, and needs no sealer when there is none', async () => {
    const catalogue = load(schema);
    const sealed: unknown[] = [];
    const sealer: Sealer = {
      seal: async (to, value): Promise<SealedValue> => {
        sealed.push([to, value]);
        return { sealed: JWE };
      },
    };
    const plan = catalogue.plan({
      type: 'x.secret',
      target: 'web1',
      params: { password: 'hunter2', user: 'u' },
    });
    const out = await sealPlan(catalogue, plan, () => sealer);
    assert.deepEqual(out.params, { password: { sealed: JWE }, user: 'u' });
    assert.deepEqual(plan.params.password, 'hunter2', 'the plan given is not changed');
    assert.deepEqual(sealed, [[{ pool: 'vault', param: 'password' }, 'hunter2']]);
    const plain = load('{type: object, properties: {user: {type: string}}}');
    const noSecrets = plain.plan({ type: 'x.secret', target: 'web1', params: { user: 'u' } });
    assert.equal(
      await sealPlan(plain, noSecrets, () => assert.fail('no sealer needed')),
      noSecrets,
    );
    assert.equal(SECRET_MASK, '********');
  });
});
