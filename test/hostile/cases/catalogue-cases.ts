import { stringify } from 'yaml';
import { CYRILLIC_E } from '../support';

export interface CatalogueCase {
  name: string;
  /** The catalogue directory's files, by name; the default is one valid `ok.yml`. */
  files?: Record<string, string>;
  /** Files of the playbooks directory. */
  playbooks?: Record<string, string>;
  /**
   * Symbolic links made before loading: `at` inside the catalogue (or playbooks) directory,
   * pointing to `to`, where `{outside}` is a directory beside both and holding `outsideFiles`.
   */
  links?: { in: 'catalogue' | 'playbooks'; at: string; to: string }[];
  outsideFiles?: Record<string, string>;
  /** The catalogue directory is missing, or a plain file. */
  dir?: 'missing' | 'file';
  /** The load error: it names the file and the field. */
  expect: RegExp;
  /** Also run through `aegir op:create`, which loads the catalogue before anything else. */
  console?: boolean;
}

/** A valid type; each case breaks one part of it. */
const base = () => ({
  name: 'hostile.base',
  description: 'A valid type that each case breaks one part of.',
  tasks: [{ name: 'run', runner: 'command', argv: ['echo', 'hi'] } as Record<string, unknown>],
});
type TypeFile = ReturnType<typeof base> & Record<string, unknown>;

const yaml = (value: unknown): string => stringify(value);
/** `bad.yml`: the base type changed by `change`. */
const broken = (change: (file: TypeFile) => void): Record<string, string> => {
  const file = base() as TypeFile;
  change(file);
  return { 'bad.yml': yaml(file) };
};
const task = (fields: Record<string, unknown>): Record<string, string> =>
  broken((file) => {
    file.tasks = [{ name: 'run', runner: 'command', argv: ['echo', 'hi'], ...fields }];
  });
const playbookTask = (playbook: string): Record<string, string> =>
  broken((file) => {
    file.tasks = [{ name: 'play', runner: 'ansible-playbook', playbook }];
  });
const params = (schema: Record<string, unknown>): Record<string, string> =>
  broken((file) => {
    file.params = schema;
  });
const bad = (
  name: string,
  files: Record<string, string>,
  expect: RegExp,
  more: Partial<CatalogueCase> = {},
): CatalogueCase => ({
  name,
  files,
  expect,
  ...more,
});

/** Nine levels of aliases, each doubling the one before: a billion laughs, small on disk. */
const aliasBomb = [
  'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
  ...'bcdefghi'.split('').map((name, i) => {
    const previous = 'abcdefghi'[i];
    return `${name}: &${name} [${new Array(9).fill(`*${previous}`).join(', ')}]`;
  }),
  'name: hostile.bomb',
  'description: *i',
  'tasks: [{name: run, runner: command, argv: [echo, hi]}]',
].join('\n');

export const catalogueCases: CatalogueCase[] = [
  bad(
    'a file that is not YAML',
    { 'bad.yml': 'name: [unclosed\n' },
    /^catalogue file bad\.yml: YAML parse error at line \d+, column \d+/,
    { console: true },
  ),
  bad(
    'an empty file',
    { 'bad.yml': '' },
    /^catalogue file bad\.yml: the file must hold a YAML mapping/,
  ),
  bad(
    'a file holding a list',
    { 'bad.yml': '- name: x\n' },
    /^catalogue file bad\.yml: the file must hold a YAML mapping/,
  ),
  bad(
    'a file holding a scalar',
    { 'bad.yml': 'just text\n' },
    /^catalogue file bad\.yml: the file must hold a YAML mapping/,
  ),
  bad(
    'duplicate keys',
    { 'bad.yml': `${yaml(base())}name: hostile.again\n` },
    /^catalogue file bad\.yml: YAML parse error at line \d+, column \d+: Map keys must be unique/,
    { console: true },
  ),
  bad(
    'two YAML documents',
    { 'bad.yml': `${yaml(base())}---\n${yaml(base())}` },
    /^catalogue file bad\.yml: YAML parse error.*holds one document/,
  ),
  bad(
    'a billion-laughs alias bomb',
    { 'bomb.yml': aliasBomb },
    /^catalogue file bomb\.yml: .*alias/i,
    { console: true },
  ),
  bad(
    'a !!js/function tag',
    {
      'bad.yml': yaml(base()).replace(
        /^description: .*$/m,
        'description: !!js/function "function () { return process.exit(1) }"',
      ),
    },
    /^catalogue file bad\.yml: YAML parse error at line 2, column \d+: .*js\/function/,
    { console: true },
  ),
  bad(
    'a !!python/object tag',
    {
      'bad.yml': yaml(base()).replace(
        /^description: .*$/m,
        'description: !!python/object:os.system ["id"]',
      ),
    },
    /^catalogue file bad\.yml: YAML parse error at line 2, column \d+: .*python\/object/,
  ),
  bad(
    'a custom !Ref tag',
    { 'bad.yml': yaml(base()).replace(/^description: .*$/m, 'description: !Ref secrets') },
    /^catalogue file bad\.yml: YAML parse error at line 2, column \d+: .*!Ref/,
  ),
  bad(
    'a !!binary description',
    { 'bad.yml': yaml(base()).replace(/^description: .*$/m, 'description: !!binary aGVsbG8=') },
    /^catalogue file bad\.yml: description must be string/,
  ),
  bad(
    'a << merge key',
    { 'bad.yml': `base: &b {pool: default}\n<<: *b\n${yaml(base())}` },
    /^catalogue file bad\.yml: base is not a known field/,
  ),
  bad(
    'a __proto__ key',
    broken((f) =>
      Object.defineProperty(f, '__proto__', { value: { pool: 'x' }, enumerable: true }),
    ),
    /^catalogue file bad\.yml: __proto__ is not a known field/,
    { console: true },
  ),
  bad(
    'a constructor key',
    broken((f) =>
      Object.defineProperty(f, 'constructor', {
        value: { prototype: { polluted: true } },
        enumerable: true,
      }),
    ),
    /^catalogue file bad\.yml: constructor is not a known field/,
  ),
  bad(
    'an unknown field',
    broken((f) => (f.run_as = 'root')),
    /^catalogue file bad\.yml: run_as is not a known field/,
  ),

  bad(
    'name missing',
    broken((f) => delete (f as Partial<TypeFile>).name),
    /^catalogue file bad\.yml: name is required/,
  ),
  bad(
    'name of a number',
    broken((f) => ((f as Record<string, unknown>).name = 7)),
    /^catalogue file bad\.yml: name must be string/,
  ),
  bad(
    'name in capitals',
    broken((f) => (f.name = 'Hostile.Base')),
    /^catalogue file bad\.yml: name must match pattern/,
  ),
  bad(
    'name with ../',
    broken((f) => (f.name = '../../etc/passwd')),
    /^catalogue file bad\.yml: name must match pattern/,
    { console: true },
  ),
  bad(
    'name with a homoglyph',
    broken((f) => (f.name = `hostil${CYRILLIC_E}.base`)),
    /^catalogue file bad\.yml: name must match pattern/,
  ),
  bad(
    'name of 200 characters',
    broken((f) => (f.name = `a${'b'.repeat(199)}`)),
    /^catalogue file bad\.yml: name must NOT have more than 128 characters/,
  ),
  bad(
    'description empty',
    broken((f) => (f.description = '')),
    /^catalogue file bad\.yml: description must NOT have fewer than 1 characters/,
  ),
  bad(
    'description of 5000 characters',
    broken((f) => (f.description = 'd'.repeat(5000))),
    /^catalogue file bad\.yml: description must NOT have more than 4000 characters/,
  ),
  bad(
    'pool in capitals',
    broken((f) => (f.pool = 'Default')),
    /^catalogue file bad\.yml: pool must match pattern/,
  ),
  bad(
    'pool with a homoglyph',
    broken((f) => (f.pool = `d${CYRILLIC_E}fault`)),
    /^catalogue file bad\.yml: pool must match pattern/,
    { console: true },
  ),
  bad(
    'pool with ../',
    broken((f) => (f.pool = '../default')),
    /^catalogue file bad\.yml: pool must match pattern/,
  ),
  bad(
    'pool that is a broker wildcard',
    broken((f) => (f.pool = '#')),
    /^catalogue file bad\.yml: pool must match pattern/,
  ),
  bad(
    'pool amq.gen',
    broken((f) => (f.pool = 'amq.gen-x')),
    /^catalogue file bad\.yml: pool must match pattern/,
  ),
  bad(
    'parallel as "yes"',
    broken((f) => (f.parallel = 'yes')),
    /^catalogue file bad\.yml: parallel must be boolean/,
  ),
  bad(
    'retry attempts of 11',
    broken((f) => (f.retry = { attempts: 11 })),
    /^catalogue file bad\.yml: retry\.attempts must be <= 10/,
  ),
  bad(
    'retry attempts of -1',
    broken((f) => (f.retry = { attempts: -1 })),
    /^catalogue file bad\.yml: retry\.attempts must be >= 0/,
  ),
  bad(
    'retry backoff of 1e9',
    broken((f) => (f.retry = { backoff: 1e9 })),
    /^catalogue file bad\.yml: retry\.backoff must be <= 86400/,
  ),
  bad(
    'retry with an unknown field',
    broken((f) => (f.retry = { forever: true })),
    /^catalogue file bad\.yml: retry\.forever is not a known field/,
  ),

  bad(
    'no tasks',
    broken((f) => (f.tasks = [])),
    /^catalogue file bad\.yml: tasks must NOT have fewer than 1 items/,
  ),
  bad(
    '51 tasks',
    broken(
      (f) =>
        (f.tasks = Array.from({ length: 51 }, (_, i) => ({
          name: `t${i}`,
          runner: 'command',
          argv: ['true'],
        }))),
    ),
    /^catalogue file bad\.yml: tasks must NOT have more than 50 items/,
  ),
  bad(
    'a task runner of shell',
    task({ runner: 'shell' }),
    /^catalogue file bad\.yml: tasks\[0\]\.runner must be one of: ansible-playbook, command/,
  ),
  bad(
    'two tasks of one name',
    broken((f) => (f.tasks = [base().tasks[0], base().tasks[0]])),
    /^catalogue file bad\.yml: tasks\[1\]\.name "run" is already used by tasks\[0\]/,
  ),
  bad(
    'a task timeout of 0',
    task({ timeout: 0 }),
    /^catalogue file bad\.yml: tasks\[0\]\.timeout must be >= 1/,
  ),
  bad(
    'a task timeout of 1e9',
    task({ timeout: 1e9 }),
    /^catalogue file bad\.yml: tasks\[0\]\.timeout must be <= 86400/,
  ),
  bad(
    'a task timeout as a string',
    task({ timeout: '30' }),
    /^catalogue file bad\.yml: tasks\[0\]\.timeout must be integer/,
  ),
  bad(
    'a command without argv',
    task({ argv: undefined }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv is required with runner command/,
  ),
  bad(
    'a command with a playbook',
    task({ playbook: 'x.yml' }),
    /^catalogue file bad\.yml: tasks\[0\]\.playbook is not allowed with runner command/,
  ),
  bad(
    'argv[0] a placeholder',
    task({ argv: ['{{ target }}'] }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv\[0\] "\{\{ target \}\}" must be a program, not a placeholder/,
  ),
  bad(
    'argv[0] a relative path',
    task({ argv: ['./run.sh'] }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv\[0\] "\.\/run\.sh" must be a plain program name or an absolute path/,
  ),
  bad(
    'argv[0] with ../',
    task({ argv: ['../../bin/sh'] }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv\[0\] .* must be a plain program name or an absolute path/,
    { console: true },
  ),
  bad(
    'argv[0] an absolute path through ..',
    task({ argv: ['/usr/../bin/sh'] }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv\[0\] .* must be a plain program name or an absolute path/,
  ),
  bad(
    'argv with half a placeholder',
    task({ argv: ['echo', '--host={{ target }}'] }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv\[1\] .* must be exactly one placeholder/,
  ),
  bad(
    'argv with an unknown placeholder',
    task({ argv: ['echo', '{{ env.HOME }}'] }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv\[1\] .* names an unknown placeholder "env\.HOME"/,
  ),
  bad(
    'argv with a Jinja expression',
    task({ argv: ['echo', "{{ lookup('pipe', 'id') }}"] }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv\[1\] .* names an unknown placeholder/,
  ),
  bad(
    'argv with an undeclared param',
    task({ argv: ['echo', '{{ params.who }}'] }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv\[1\] .*params\.who is not declared in params\.properties/,
  ),
  bad(
    'argv with NUL',
    task({ argv: ['echo', 'a\u0000b'] }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv\[1\] .* must not contain a NUL character/,
  ),
  bad(
    'argv of 257 elements',
    task({ argv: new Array(257).fill('x') }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv must NOT have more than 256 items/,
  ),
  bad(
    'an argv element of 5000 characters',
    task({ argv: ['echo', 'e'.repeat(5000)] }),
    /^catalogue file bad\.yml: tasks\[0\]\.argv\[1\] must NOT have more than 4096 characters/,
  ),

  bad(
    'a playbook with ../',
    playbookTask('../outside.yml'),
    /^catalogue file bad\.yml: tasks\[0\]\.playbook "\.\.\/outside\.yml" is outside the playbooks directory/,
    { console: true },
  ),
  bad(
    'a playbook as an absolute path',
    playbookTask('/etc/passwd'),
    /^catalogue file bad\.yml: tasks\[0\]\.playbook "\/etc\/passwd" is outside the playbooks directory \(it must be a relative path\)/,
  ),
  bad(
    'a playbook with %2e%2e',
    playbookTask('%2e%2e/outside.yml'),
    /^catalogue file bad\.yml: tasks\[0\]\.playbook "%2e%2e\/outside\.yml" does not exist in /,
  ),
  bad(
    'a playbook with NUL',
    playbookTask('site.yml\u0000.txt'),
    /^catalogue file bad\.yml: tasks\[0\]\.playbook .* must not contain a NUL character/,
  ),
  bad(
    'a playbook that is a directory',
    playbookTask('roles'),
    /^catalogue file bad\.yml: tasks\[0\]\.playbook "roles" is not a file/,
    { playbooks: { 'roles/main.yml': '- hosts: all\n' } },
  ),
  bad(
    'a playbook that does not exist',
    playbookTask('nowhere.yml'),
    /^catalogue file bad\.yml: tasks\[0\]\.playbook "nowhere\.yml" does not exist in /,
  ),
  bad(
    'a playbook symlinked out of the playbooks directory',
    playbookTask('escape.yml'),
    /^catalogue file bad\.yml: tasks\[0\]\.playbook "escape\.yml" is outside the playbooks directory \(through a symbolic link\)/,
    {
      links: [{ in: 'playbooks', at: 'escape.yml', to: '{outside}/evil.yml' }],
      outsideFiles: { 'evil.yml': '- hosts: all\n' },
    },
  ),
  bad(
    'an inventory of all',
    broken(
      (f) =>
        (f.tasks = [
          { name: 'play', runner: 'ansible-playbook', playbook: 'site.yml', inventory: 'all' },
        ]),
    ),
    /^catalogue file bad\.yml: tasks\[0\]\.inventory must be one of: localhost, target/,
  ),

  bad(
    'params of type array',
    params({ type: 'array' }),
    /^catalogue file bad\.yml: params\.type must be "object"/,
  ),
  bad(
    'params open to any field',
    params({ type: 'object', additionalProperties: true }),
    /^catalogue file bad\.yml: params\.additionalProperties must be false/,
  ),
  bad(
    'params with patternProperties',
    params({ type: 'object', patternProperties: { '.*': {} } }),
    /^catalogue file bad\.yml: params\.patternProperties is not allowed/,
  ),
  bad(
    'a param named __proto__',
    params({
      type: 'object',
      properties: Object.defineProperty({}, '__proto__', {
        value: { type: 'string' },
        enumerable: true,
      }),
    }),
    /^catalogue file bad\.yml: params\.properties(\.__proto__|\["__proto__"\]) /,
  ),
  bad(
    'a param named aegir',
    params({ type: 'object', properties: { aegir: { type: 'string' } } }),
    /^catalogue file bad\.yml: params\.properties\.aegir is reserved/,
  ),
  bad(
    'a param named ansible_host',
    params({ type: 'object', properties: { ansible_host: { type: 'string' } } }),
    /^catalogue file bad\.yml: params\.properties\.ansible_host is reserved/,
  ),
  bad(
    'a param name with a dash',
    params({ type: 'object', properties: { 'bad-name': { type: 'string' } } }),
    /^catalogue file bad\.yml: params\.properties\["bad-name"\] must be a variable name/,
  ),
  bad(
    'a param name with a homoglyph',
    params({ type: 'object', properties: { [`n${CYRILLIC_E}w`]: { type: 'string' } } }),
    /^catalogue file bad\.yml: params\.properties\[".*"\] must be a variable name/,
  ),
  bad(
    'a misspelt schema keyword',
    params({ type: 'object', properties: { who: { type: 'string', maxlenght: 5 } } }),
    /^catalogue file bad\.yml: params is not a valid JSON Schema: .*maxlenght/,
  ),
  bad(
    'a remote $ref',
    params({
      type: 'object',
      properties: { who: { $ref: 'http://attacker.example/schema.json' } },
    }),
    /^catalogue file bad\.yml: params is not a valid JSON Schema: .*resolve reference/,
  ),

  bad(
    'one name in two files',
    { 'a.yml': yaml(base()), 'b.yml': yaml(base()) },
    /^catalogue file b\.yml: name "hostile\.base" is already defined in a\.yml/,
    { console: true },
  ),
  {
    name: 'a type file symlinked out of the catalogue directory',
    files: {},
    links: [{ in: 'catalogue', at: 'evil.yml', to: '{outside}/evil.yml' }],
    outsideFiles: { 'evil.yml': yaml({ ...base(), name: 'hostile.evil' }) },
    expect: /^catalogue file evil\.yml: .*outside the catalogue directory/,
    console: true,
  },
  {
    name: 'a type file symlinked to /etc/passwd',
    files: { 'ok.yml': yaml(base()) },
    links: [{ in: 'catalogue', at: 'passwd.yml', to: '/etc/passwd' }],
    expect: /^catalogue file passwd\.yml: .*outside the catalogue directory/,
  },
  {
    name: 'a catalogue directory that does not exist',
    dir: 'missing',
    expect: /^no operation types found in .*: the directory does not exist/,
    console: true,
  },
  {
    name: 'a catalogue directory that is a file',
    dir: 'file',
    expect: /^no operation types found in .*: the directory does not exist/,
  },
  {
    name: 'a catalogue directory with only a directory named x.yml',
    files: { 'x.yml/inner.yml': yaml(base()) },
    expect: /^no operation types found in /,
  },
];
