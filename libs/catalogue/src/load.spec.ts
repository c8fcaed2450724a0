import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { CatalogueError } from './catalogue-errors';
import { loadCatalogue } from './load';

const roots: string[] = [];
after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** Writes a catalogue (and playbooks) into a fresh temporary directory. */
function writeTree(
  catalogue: Record<string, string>,
  playbooks: Record<string, string> = { 'ok.yml': '- hosts: localhost\n  tasks: []\n' },
) {
  const root = mkdtempSync(join(tmpdir(), 'aegir-catalogue-'));
  roots.push(root);
  const dir = join(root, 'catalogue');
  const playbooksDir = join(root, 'playbooks');
  for (const [base, files] of [
    [dir, catalogue],
    [playbooksDir, playbooks],
  ] as const) {
    mkdirSync(base, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(base, name)), { recursive: true });
      writeFileSync(join(base, name), text);
    }
  }
  return { root, dir, playbooksDir };
}

function loadError(
  catalogue: Record<string, string>,
  playbooks?: Record<string, string>,
): CatalogueError {
  const tree = writeTree(catalogue, playbooks);
  try {
    loadCatalogue(tree);
  } catch (error) {
    assert.ok(error instanceof CatalogueError, `expected a CatalogueError, got ${String(error)}`);
    return error;
  }
  assert.fail('the catalogue loaded although it is broken');
}

/** A one-task command type; `params` and `argv` are YAML flow text. */
const commandType = (argv: string, params?: string, name = 'x.test') =>
  `name: ${name}\ndescription: test\n${params ? `params: ${params}\n` : ''}tasks:\n  - name: run\n    runner: command\n    argv: ${argv}\n`;

const playbookType = (playbook: string, name = 'x.play') =>
  `name: ${name}\ndescription: test\ntasks:\n  - name: first\n    runner: command\n    argv: ["true"]\n  - name: play\n    runner: ansible-playbook\n    playbook: ${JSON.stringify(playbook)}\n`;

void describe('loadCatalogue: the shipped catalogue and the test fixtures', () => {
  void it('loads catalogue/ with playbooks/', () => {
    const catalogue = loadCatalogue({ dir: 'catalogue', playbooksDir: 'playbooks' });
    assert.deepEqual(
      catalogue.types().map((type) => type.name),
      ['aegir.probe', 'demo.hello', 'site.release'],
    );
    assert.deepEqual(catalogue.pools(), ['default']);
    // aegir doctor's probe: one quick command, no params, beside anything on its target
    const probe = catalogue.get('aegir.probe')!;
    assert.deepEqual(probe.tasks, [
      {
        name: 'probe',
        runner: 'command',
        timeoutSeconds: 30,
        argv: ['printf', 'aegir.probe: the queue works\n'],
      },
    ]);
    assert.equal(probe.parallel, true);
    const hello = catalogue.get('demo.hello')!;
    assert.equal(hello.file, 'demo.hello.yml');
    assert.deepEqual(hello.tasks, [
      {
        name: 'hello',
        runner: 'ansible-playbook',
        timeoutSeconds: 300,
        playbook: 'demo/hello.yml',
        inventory: 'localhost',
      },
    ]);
    assert.equal(hello.paramsSchema.additionalProperties, false);
    assert.deepEqual(
      catalogue.get('site.release')!.tasks.map((task) => [task.name, task.runner]),
      [
        ['prepare', 'command'],
        ['deploy', 'ansible-playbook'],
        ['verify', 'ansible-playbook'],
      ],
    );
  });

  void it('loads test/fixtures/catalogue with test/fixtures/playbooks', () => {
    const catalogue = loadCatalogue({
      dir: 'test/fixtures/catalogue',
      playbooksDir: 'test/fixtures/playbooks',
    });
    const names = catalogue.types().map((type) => type.name);
    assert.deepEqual(names, [...names].sort());
    // The suites add fixtures of their own: check for the ones the unit and e2e tests use.
    for (const name of [
      'demo.hello',
      'test.echo',
      'test.fail',
      'test.lines',
      'test.parallel',
      'test.sleep',
      'test.stubborn',
      'test.timeout',
    ]) {
      assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
    }
    assert.deepEqual(
      catalogue.get('test.fail')!.tasks.map((task) => task.name),
      ['first', 'second', 'third'],
    );
    assert.equal(catalogue.get('test.sleep')!.tasks[0].timeoutSeconds, 60);
    assert.equal(catalogue.get('test.timeout')!.tasks[0].timeoutSeconds, 2);
    assert.deepEqual(catalogue.get('test.lines')!.retry, { attempts: 1, backoffSeconds: 0 });
    assert.equal(catalogue.get('test.parallel')!.parallel, true);
    assert.equal(catalogue.get('test.sleep')!.parallel, false);
    assert.deepEqual(catalogue.get('test.stubborn')!.tasks[0].argv, [
      'sh',
      '-c',
      "echo started; trap '' TERM; sleep 1000 & sleep 1000 & wait",
    ]);
  });

  void it('hands out frozen types, so no caller can change the catalogue', () => {
    const catalogue = loadCatalogue({ dir: 'catalogue', playbooksDir: 'playbooks' });
    const hello = catalogue.get('demo.hello')!;
    assert.ok(Object.isFrozen(hello));
    assert.ok(Object.isFrozen(hello.tasks[0]));
    assert.ok(Object.isFrozen(hello.paramsSchema.properties));
  });

  void it('ignores files that are not YAML, dotfiles and subdirectories, and fills defaults', () => {
    const tree = writeTree({
      'README.md': 'not a type',
      '.hidden.yml': 'not: [valid',
      'sub/other.yml': 'not: [valid',
      'one.yaml': commandType('[echo, hi]'),
    });
    const catalogue = loadCatalogue(tree);
    const type = catalogue.get('x.test')!;
    assert.equal(type.pool, 'default');
    assert.equal(type.parallel, false);
    assert.deepEqual(type.retry, { attempts: 0, backoffSeconds: 0 });
    assert.equal(type.file, 'one.yaml');
    assert.deepEqual(type.paramsSchema, {
      type: 'object',
      additionalProperties: false,
      properties: {},
    });
    assert.deepEqual(type.tasks, [
      { name: 'run', runner: 'command', timeoutSeconds: 3600, argv: ['echo', 'hi'] },
    ]);
    const play = loadCatalogue(writeTree({ 'p.yml': playbookType('ok.yml') })).get('x.play')!;
    assert.equal(play.tasks[1].inventory, 'target');
  });
});

void describe('loadCatalogue: parallel and retry', () => {
  void it('reads parallel and a retry policy, filling a missing attempts or backoff with 0', () => {
    const catalogue = loadCatalogue(
      writeTree({
        'a.yml':
          commandType('[echo]', undefined, 'x.a') +
          'parallel: true\nretry: {attempts: 3, backoff: 90}\n',
        'b.yml':
          commandType('[echo]', undefined, 'x.b') + 'parallel: false\nretry: {attempts: 10}\n',
        'c.yml': commandType('[echo]', undefined, 'x.c') + 'retry: {backoff: 86400}\n',
      }),
    );
    const summary = (name: string) => {
      const type = catalogue.get(name)!;
      return { parallel: type.parallel, retry: type.retry };
    };
    assert.deepEqual(summary('x.a'), {
      parallel: true,
      retry: { attempts: 3, backoffSeconds: 90 },
    });
    assert.deepEqual(summary('x.b'), {
      parallel: false,
      retry: { attempts: 10, backoffSeconds: 0 },
    });
    assert.deepEqual(summary('x.c'), {
      parallel: false,
      retry: { attempts: 0, backoffSeconds: 86400 },
    });
    assert.ok(Object.isFrozen(catalogue.get('x.a')!.retry));
  });

  const refused: [string, string][] = [
    ['parallel: yes please', 'parallel must be boolean'],
    ['parallel: 1', 'parallel must be boolean'],
    ['retry: 3', 'retry must be object'],
    ['retry: {attempts: 11}', 'retry.attempts must be <= 10'],
    ['retry: {attempts: -1}', 'retry.attempts must be >= 0'],
    ['retry: {attempts: 1.5}', 'retry.attempts must be integer'],
    ['retry: {attempts: "2"}', 'retry.attempts must be integer'],
    ['retry: {backoff: 86401}', 'retry.backoff must be <= 86400'],
    ['retry: {backoff: -5}', 'retry.backoff must be >= 0'],
    ['retry: {attempts: 1, on: [failed]}', 'retry.on is not a known field'],
  ];
  for (const [yaml, problem] of refused) {
    void it(`refuses ${yaml}, naming the field`, () => {
      assert.equal(
        loadError({ 'r.yml': commandType('[echo]') + `${yaml}\n` }).message,
        `catalogue file r.yml: ${problem}`,
      );
    });
  }
});

void describe('loadCatalogue: maxOutputBytes', () => {
  void it('defaults to 64 MiB and reads a value within the bound', () => {
    const catalogue = loadCatalogue(
      writeTree({
        'a.yml': commandType('[echo]', undefined, 'x.a'),
        'b.yml': commandType('[echo]', undefined, 'x.b') + 'maxOutputBytes: 1000\n',
      }),
    );
    assert.equal(catalogue.get('x.a')!.maxOutputBytes, 64 * 1024 * 1024);
    assert.equal(catalogue.get('x.b')!.maxOutputBytes, 1000);
  });

  for (const [yaml, problem] of [
    ['maxOutputBytes: 0', 'maxOutputBytes must be >= 1'],
    ['maxOutputBytes: 17179869185', 'maxOutputBytes must be <= 17179869184'],
    ['maxOutputBytes: 64M', 'maxOutputBytes must be integer'],
    ['maxOutputBytes: 1.5', 'maxOutputBytes must be integer'],
  ]) {
    void it(`refuses ${yaml}, naming the field`, () => {
      assert.equal(
        loadError({ 'r.yml': commandType('[echo]') + `${yaml}\n` }).message,
        `catalogue file r.yml: ${problem}`,
      );
    });
  }
});

void describe('loadCatalogue: errors name the file and the field', () => {
  void it('a missing directory', () => {
    const missing = join(tmpdir(), 'aegir-no-such-catalogue-dir');
    assert.throws(() => loadCatalogue({ dir: missing, playbooksDir: missing }), {
      name: 'CatalogueError',
      message: `no operation types found in ${missing}: the directory does not exist`,
    });
  });

  void it('an empty directory', () => {
    const tree = writeTree({ 'README.md': '# nothing here' });
    assert.throws(() => loadCatalogue(tree), {
      name: 'CatalogueError',
      message: `no operation types found in ${tree.dir}`,
    });
  });

  void it('a timeout that is not an integer', () => {
    const text = commandType('[echo]').replace('argv: [echo]', 'argv: [echo]\n    timeout: 1.5');
    assert.equal(
      loadError({ 'demo.hello.yml': text }).message,
      'catalogue file demo.hello.yml: tasks[0].timeout must be integer',
    );
  });

  void it('a timeout out of range', () => {
    const text = commandType('[echo]').replace('argv: [echo]', 'argv: [echo]\n    timeout: 86401');
    assert.equal(
      loadError({ 't.yml': text }).message,
      'catalogue file t.yml: tasks[0].timeout must be <= 86400',
    );
  });

  void it('a YAML syntax error, with its line', () => {
    const message = loadError({
      'bad.yml': 'name: x.y\ndescription: [unclosed\ntasks: []\n',
    }).message;
    assert.match(message, /^catalogue file bad\.yml: YAML parse error at line \d+, column \d+: \S/);
  });

  void it('a duplicate key', () => {
    assert.match(
      loadError({ 'dup.yml': 'name: a.b\nname: a.c\ndescription: d\ntasks: []\n' }).message,
      /^catalogue file dup\.yml: YAML parse error at line 2, column 1: Map keys must be unique/,
    );
  });

  void it('more than one YAML document in a file', () => {
    assert.equal(
      loadError({
        'two.yml': `${commandType('[echo]')}---\n${commandType('[echo]', undefined, 'x.other')}`,
      }).message,
      'catalogue file two.yml: YAML parse error at line 7, column 1: a catalogue file holds one document (one operation type), but this one has more',
    );
  });

  void it('a file that is not a mapping', () => {
    assert.equal(
      loadError({ 'list.yml': '- a\n- b\n' }).message,
      'catalogue file list.yml: the file must hold a YAML mapping (name, description, tasks)',
    );
  });

  void it('a missing required field', () => {
    assert.equal(
      loadError({ 'a.yml': 'name: a.b\ntasks: [{name: x, runner: command, argv: ["true"]}]\n' })
        .message,
      'catalogue file a.yml: description is required',
    );
  });

  void it('an unknown top-level field', () => {
    const text = commandType('[echo]') + 'concurrency: per-target\n';
    assert.equal(
      loadError({ 'c.yml': text }).message,
      'catalogue file c.yml: concurrency is not a known field',
    );
  });

  void it('an unknown task field', () => {
    const text = commandType('[echo]').replace(
      'runner: command',
      'runner: command\n    become: true',
    );
    assert.equal(
      loadError({ 'c.yml': text }).message,
      'catalogue file c.yml: tasks[0].become is not a known field',
    );
  });

  void it('a bad type name', () => {
    assert.equal(
      loadError({ 'n.yml': commandType('[echo]', undefined, 'Demo.Hello') }).message,
      'catalogue file n.yml: name must match pattern "^[a-z][a-z0-9_-]*(\\.[a-z0-9_-]+)*$"',
    );
  });

  void it('a bad pool', () => {
    const text = commandType('[echo]') + 'pool: Big Pool\n';
    assert.equal(
      loadError({ 'p.yml': text }).message,
      'catalogue file p.yml: pool must match pattern "^[a-z0-9][a-z0-9_-]{0,62}$"',
    );
  });

  void it('an unknown runner', () => {
    const text = commandType('[echo]').replace('runner: command', 'runner: shell');
    assert.equal(
      loadError({ 'r.yml': text }).message,
      'catalogue file r.yml: tasks[0].runner must be one of: ansible-playbook, command',
    );
  });

  void it('no tasks, and too many tasks', () => {
    assert.equal(
      loadError({ 'e.yml': 'name: a.b\ndescription: d\ntasks: []\n' }).message,
      'catalogue file e.yml: tasks must NOT have fewer than 1 items',
    );
    const many = Array.from(
      { length: 51 },
      (_, i) => `  - {name: t${i}, runner: command, argv: ["true"]}`,
    );
    assert.equal(
      loadError({ 'm.yml': `name: a.b\ndescription: d\ntasks:\n${many.join('\n')}\n` }).message,
      'catalogue file m.yml: tasks must NOT have more than 50 items',
    );
  });

  void it('two tasks with the same name', () => {
    const text = `name: a.b\ndescription: d\ntasks:\n  - {name: t, runner: command, argv: ["true"]}\n  - {name: t, runner: command, argv: ["false"]}\n`;
    assert.equal(
      loadError({ 'd.yml': text }).message,
      'catalogue file d.yml: tasks[1].name "t" is already used by tasks[0]',
    );
  });

  void it('two files defining the same type', () => {
    assert.equal(
      loadError({
        'a.yml': commandType('[echo]', undefined, 'demo.hello'),
        'b.yml': commandType('["true"]', undefined, 'demo.hello'),
      }).message,
      'catalogue file b.yml: name "demo.hello" is already defined in a.yml',
    );
  });

  void it('fields of the wrong runner', () => {
    const argvOnPlaybook = playbookType('ok.yml').replace(
      'playbook: "ok.yml"',
      'playbook: "ok.yml"\n    argv: [echo]',
    );
    assert.equal(
      loadError({ 'a.yml': argvOnPlaybook }).message,
      'catalogue file a.yml: tasks[1].argv is not allowed with runner ansible-playbook',
    );
    const playbookOnCommand = commandType('[echo]') + '    playbook: ok.yml\n';
    assert.equal(
      loadError({ 'b.yml': playbookOnCommand }).message,
      'catalogue file b.yml: tasks[0].playbook is not allowed with runner command',
    );
    const inventoryOnCommand = commandType('[echo]') + '    inventory: localhost\n';
    assert.equal(
      loadError({ 'c.yml': inventoryOnCommand }).message,
      'catalogue file c.yml: tasks[0].inventory is not allowed with runner command',
    );
    assert.equal(
      loadError({ 'd.yml': 'name: a.b\ndescription: d\ntasks: [{name: t, runner: command}]\n' })
        .message,
      'catalogue file d.yml: tasks[0].argv is required with runner command',
    );
    assert.equal(
      loadError({
        'e.yml': 'name: a.b\ndescription: d\ntasks: [{name: t, runner: ansible-playbook}]\n',
      }).message,
      'catalogue file e.yml: tasks[0].playbook is required with runner ansible-playbook',
    );
  });

  void it('a playbook outside the playbooks directory', () => {
    assert.equal(
      loadError({ 'c.yml': playbookType('../etc/passwd') }).message,
      'catalogue file c.yml: tasks[1].playbook "../etc/passwd" is outside the playbooks directory',
    );
    assert.equal(
      loadError({ 'c.yml': playbookType('sub/../../catalogue/c.yml') }).message,
      'catalogue file c.yml: tasks[1].playbook "sub/../../catalogue/c.yml" is outside the playbooks directory',
    );
    assert.equal(
      loadError({ 'c.yml': playbookType('demo/../ok.yml') }).message,
      'catalogue file c.yml: tasks[1].playbook "demo/../ok.yml" is outside the playbooks directory',
    );
    assert.equal(
      loadError({ 'c.yml': playbookType('/etc/passwd') }).message,
      'catalogue file c.yml: tasks[1].playbook "/etc/passwd" is outside the playbooks directory (it must be a relative path)',
    );
  });

  void it('a playbook that leaves the playbooks directory through a symbolic link', () => {
    const tree = writeTree({ 'c.yml': playbookType('escape.yml') });
    writeFileSync(join(tree.root, 'secret.yml'), '- hosts: all\n');
    symlinkSync(join(tree.root, 'secret.yml'), join(tree.playbooksDir, 'escape.yml'));
    assert.throws(() => loadCatalogue(tree), {
      name: 'CatalogueError',
      message:
        'catalogue file c.yml: tasks[1].playbook "escape.yml" is outside the playbooks directory (through a symbolic link)',
    });
  });

  void it('a playbook that does not exist, or is a directory', () => {
    const tree = writeTree({ 'c.yml': playbookType('demo/missing.yml') });
    assert.throws(() => loadCatalogue(tree), {
      message: `catalogue file c.yml: tasks[1].playbook "demo/missing.yml" does not exist in ${tree.playbooksDir}`,
    });
    assert.equal(
      loadError({ 'c.yml': playbookType('demo') }, { 'demo/x.yml': '[]' }).message,
      'catalogue file c.yml: tasks[1].playbook "demo" is not a file',
    );
  });

  void it('a params schema that is not valid JSON Schema', () => {
    const params = '{type: object, properties: {greeting: {type: strnig}}}';
    assert.match(
      loadError({ 'x.yml': commandType('[echo]', params) }).message,
      /^catalogue file x\.yml: params is not a valid JSON Schema: schema is invalid: data\/properties\/greeting\/type /,
    );
  });

  void it('a params schema with an unknown keyword (a typo would silently skip a check)', () => {
    const params = '{type: object, properties: {greeting: {type: string, maxlenght: 5}}}';
    assert.equal(
      loadError({ 'x.yml': commandType('[echo]', params) }).message,
      'catalogue file x.yml: params is not a valid JSON Schema: strict mode: unknown keyword: "maxlenght"',
    );
  });

  void it('a params schema that is not an object schema', () => {
    assert.equal(
      loadError({ 'x.yml': commandType('[echo]', '{type: array}') }).message,
      'catalogue file x.yml: params.type must be "object"',
    );
    assert.equal(
      loadError({ 'y.yml': commandType('[echo]', '{properties: {}}') }).message,
      'catalogue file y.yml: params.type must be "object"',
    );
    assert.equal(
      loadError({ 'z.yml': commandType('[echo]', '[1]') }).message,
      'catalogue file z.yml: params must be object',
    );
  });

  void it('a params schema that lets undeclared params through', () => {
    assert.equal(
      loadError({ 'x.yml': commandType('[echo]', '{type: object, additionalProperties: true}') })
        .message,
      'catalogue file x.yml: params.additionalProperties must be false: every parameter becomes an Ansible extra var, so each must be declared',
    );
    assert.equal(
      loadError({
        'y.yml': commandType('[echo]', '{type: object, patternProperties: {"^a": {}}}'),
      }).message,
      'catalogue file y.yml: params.patternProperties is not allowed: every parameter must be declared by name in params.properties',
    );
  });

  void it('a params schema declaring reserved or unusable names', () => {
    assert.equal(
      loadError({ 'x.yml': commandType('[echo]', '{type: object, properties: {aegir: {}}}') })
        .message,
      'catalogue file x.yml: params.properties.aegir is reserved for the variables the dispatcher adds',
    );
    assert.equal(
      loadError({
        'y.yml': commandType('[echo]', '{type: object, properties: {ansible_connection: {}}}'),
      }).message,
      'catalogue file y.yml: params.properties.ansible_connection is reserved: names starting with ansible_ (or __ansible) belong to Ansible',
    );
    assert.equal(
      loadError({
        'w.yml': commandType('[echo]', '{type: object, properties: {Ansible_User: {}}}'),
      }).message,
      'catalogue file w.yml: params.properties.Ansible_User is reserved: names starting with ansible_ (or __ansible) belong to Ansible',
    );
    assert.equal(
      loadError({ 'z.yml': commandType('[echo]', '{type: object, properties: {a-b: {}}}') })
        .message,
      'catalogue file z.yml: params.properties["a-b"] must be a variable name matching ^[A-Za-z_][A-Za-z0-9_]*$',
    );
  });

  void it('a placeholder that is only part of an argv element', () => {
    assert.equal(
      loadError({ 'p.yml': commandType('[deploy, "--name={{ target }}"]') }).message,
      'catalogue file p.yml: tasks[0].argv[1] "--name={{ target }}" must be exactly one placeholder such as "{{ target }}": a placeholder fills a whole argv element, never part of one',
    );
    assert.equal(
      loadError({ 'q.yml': commandType('[echo, "{{ target }}{{ type }}"]') }).message,
      'catalogue file q.yml: tasks[0].argv[1] "{{ target }}{{ type }}" must be exactly one placeholder such as "{{ target }}": a placeholder fills a whole argv element, never part of one',
    );
  });

  void it('an unknown placeholder', () => {
    assert.equal(
      loadError({ 'p.yml': commandType('[echo, "{{ secret }}"]') }).message,
      'catalogue file p.yml: tasks[0].argv[1] "{{ secret }}" names an unknown placeholder "secret" (known: target, operation_id, type, params.NAME)',
    );
  });

  void it('a params placeholder that may have no value or is not a scalar', () => {
    const schema =
      '{type: object, required: [list], properties: {opt: {type: string}, list: {type: array}, n: {type: integer, default: 1}}}';
    assert.equal(
      loadError({ 'a.yml': commandType('[echo, "{{ params.nope }}"]', schema) }).message,
      'catalogue file a.yml: tasks[0].argv[1] "{{ params.nope }}": params.nope is not declared in params.properties',
    );
    assert.equal(
      loadError({ 'b.yml': commandType('[echo, "{{ params.opt }}"]', schema) }).message,
      'catalogue file b.yml: tasks[0].argv[1] "{{ params.opt }}": params.opt must be required or have a default, so it always has a value',
    );
    assert.equal(
      loadError({ 'c.yml': commandType('[echo, "{{ params.list }}"]', schema) }).message,
      'catalogue file c.yml: tasks[0].argv[1] "{{ params.list }}": params.list must have type string, number, integer or boolean to fill an argv element',
    );
    // The same schema with a usable placeholder loads.
    assert.ok(loadCatalogue(writeTree({ 'd.yml': commandType('[echo, "{{params.n}}"]', schema) })));
  });

  void it('a program that is a placeholder or a relative path', () => {
    assert.equal(
      loadError({ 'a.yml': commandType('["{{ target }}"]') }).message,
      'catalogue file a.yml: tasks[0].argv[0] "{{ target }}" must be a program, not a placeholder',
    );
    assert.equal(
      loadError({ 'b.yml': commandType('[./deploy.sh]') }).message,
      'catalogue file b.yml: tasks[0].argv[0] "./deploy.sh" must be a plain program name or an absolute path',
    );
    assert.equal(
      loadError({ 'c.yml': commandType('[/usr/../bin/sh]') }).message,
      'catalogue file c.yml: tasks[0].argv[0] "/usr/../bin/sh" must be a plain program name or an absolute path',
    );
    assert.equal(
      loadError({ 'd.yml': commandType('[]') }).message,
      'catalogue file d.yml: tasks[0].argv must NOT have fewer than 1 items',
    );
    assert.equal(
      loadError({ 'e.yml': commandType('[echo, 5]') }).message,
      'catalogue file e.yml: tasks[0].argv[1] must be string',
    );
  });

  void it('reports the file relative to the catalogue directory, not where it was loaded from', () => {
    const message = loadError({ 'a.yml': commandType('[./x]') }).message;
    assert.ok(message.startsWith('catalogue file a.yml: '));
    assert.ok(!message.includes(resolve(tmpdir())));
  });
});
