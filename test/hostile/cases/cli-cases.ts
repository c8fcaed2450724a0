import { CYRILLIC_E, ESC, nestedJson } from '../support';

/** Operations the CLI suite makes first, for the cases that need one. */
export interface CliFixtures {
  /** A `test.echo` operation that stays queued (no relay runs). */
  queued: string;
  /** A queued operation whose stored lines hold terminal escapes and control characters. */
  escapes: string;
  /** A well-formed id no operation has. */
  unknown: string;
}

export interface CliCase {
  name: string;
  args: string[] | ((fixtures: CliFixtures) => string[]);
  expect: {
    code: number;
    /** What the user reads on stderr: the flag or field named and the rule. */
    stderr?: RegExp;
    /** What stdout must show, and what it must never carry. */
    stdout?: RegExp;
    stdoutNot?: RegExp;
  };
}

const fails = (name: string, args: CliCase['args'], stderr: RegExp, code = 1): CliCase => ({
  name,
  args,
  expect: { code, stderr },
});
const echo = (...more: string[]) => ['op:create', 'test.echo', ...more];
const sleepWith = (seconds: string) => [
  'op:create',
  'test.sleep',
  '--target',
  'web1',
  '--param',
  `seconds=${seconds}`,
];
const cursorOf = (value: unknown): string =>
  Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
const SOME_ID = '3f2c1b9e-8d7a-4c6b-9e5f-1a2b3c4d5e6f';
/** Control characters, escapes included, that must not reach a terminal as they are. */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u009b]/;

export const cliCases: CliCase[] = [
  fails('op:create without --target', echo('--param', 'message=hi'), /error: --target is required/),
  fails(
    'op:create of a type not in the catalogue',
    ['op:create', 'no.such', '--target', 'web1'],
    /error: type "no\.such" is not in the catalogue/,
  ),
  fails(
    'op:create of a type with ../',
    ['op:create', '../../etc/passwd', '--target', 'web1'],
    /error: type "\.\.\/\.\.\/etc\/passwd" is not in the catalogue/,
  ),
  fails(
    'op:create of type __proto__',
    ['op:create', '__proto__', '--target', 'web1'],
    /error: type "__proto__" is not in the catalogue/,
  ),
  fails(
    'op:create of a type with a homoglyph',
    ['op:create', `t${CYRILLIC_E}st.echo`, '--target', 'web1'],
    /is not in the catalogue/,
  ),
  fails(
    'op:create with a target of ../',
    echo('--target', '../etc', '--param', 'message=hi'),
    /error: target must match/,
  ),
  fails(
    'op:create with an absolute path as target',
    echo('--target', '/etc/passwd', '--param', 'message=hi'),
    /error: target must match/,
  ),
  fails(
    'op:create with a target that reads as an option',
    echo('--target=-oProxyCommand=id', '--param', 'message=hi'),
    /error: target must match/,
  ),
  fails(
    'op:create with a target holding a newline',
    echo('--target', 'web1\nweb2', '--param', 'message=hi'),
    /error: target must match/,
  ),
  fails(
    'op:create with a target holding an escape',
    echo('--target', `${ESC}]0;owned${ESC}\\web1`, '--param', 'message=hi'),
    /error: target must match/,
  ),
  fails(
    'op:create with a homoglyph target',
    echo('--target', `w${CYRILLIC_E}b1`, '--param', 'message=hi'),
    /error: target must match/,
  ),
  fails(
    'op:create with a target of 300 characters',
    echo('--target', 'a'.repeat(300), '--param', 'message=hi'),
    /error: target must match/,
  ),
  fails(
    '--params that is not JSON',
    echo('--target', 'web1', '--params', "{message: 'hi'}"),
    /error: --params is not valid JSON/,
  ),
  fails(
    '--params of an array',
    echo('--target', 'web1', '--params', '[1]'),
    /error: --params must be a JSON object/,
  ),
  fails(
    '--params of null',
    echo('--target', 'web1', '--params', 'null'),
    /error: --params must be a JSON object/,
  ),
  fails(
    '--params of a string',
    echo('--target', 'web1', '--params', '"hi"'),
    /error: --params must be a JSON object/,
  ),
  fails(
    '--params with an unknown field',
    echo('--target', 'web1', '--params', '{"message":"hi","extra":1}'),
    /error: params\.extra is not a known parameter/,
  ),
  fails(
    '--params 10 000 levels deep',
    echo('--target', 'web1', '--params', `{"message":"hi","deep":${nestedJson(10_000)}}`),
    /error: params must be plain JSON data/,
  ),
  fails(
    '--params with a value of 100 000 characters',
    echo('--target', 'web1', '--params', JSON.stringify({ message: 'm'.repeat(100_000) })),
    /error: params\.message must NOT have more than 1000 characters/,
  ),
  fails(
    '--param without =',
    echo('--target', 'web1', '--param', 'message'),
    /error: --param must be key=value, got "message"/,
  ),
  fails(
    '--param without a key',
    echo('--target', 'web1', '--param', '=hi'),
    /error: --param must be key=value, got "=hi"/,
  ),
  fails(
    '--param __proto__',
    echo('--target', 'web1', '--param', 'message=hi', '--param', '__proto__={"polluted":true}'),
    /error: params\.__proto__ is not a known parameter/,
  ),
  fails(
    '--param constructor',
    echo('--target', 'web1', '--param', 'message=hi', '--param', 'constructor={"prototype":{}}'),
    /error: params\.constructor is not a known parameter/,
  ),
  fails(
    '--param with NUL as a JSON escape',
    echo('--target', 'web1', '--param', 'message="hi\\u0000there"'),
    /error: params\.message.*NUL/,
  ),
  fails(
    '--param with a lone surrogate as a JSON escape',
    echo('--target', 'web1', '--param', 'message="hi\\ud800"'),
    /error: params\.message.*surrogate/,
  ),
  fails(
    '--param integer below its minimum',
    sleepWith('-1'),
    /error: params\.seconds must be >= 0/,
  ),
  fails('--param integer of 1e9', sleepWith('1e9'), /error: params\.seconds must be <= 3600/),
  fails('--param integer of NaN', sleepWith('NaN'), /error: params\.seconds must be integer/),
  fails('--param integer in hex', sleepWith('0x10'), /error: params\.seconds must be integer/),
  fails(
    '--param integer as a fraction',
    sleepWith('2.5'),
    /error: params\.seconds must be integer/,
  ),
  fails(
    'op:create without its type',
    ['op:create', '--target', 'web1'],
    /error: missing required argument 'type'/,
  ),
  fails('an unknown option', ['op:list', '--evil'], /error: unknown option '--evil'/),
  fails('an unknown command', ['op:destroy'], /error: unknown command 'op:destroy'/),

  fails(
    'op:list --limit 0',
    ['op:list', '--limit', '0'],
    /error: --limit must be an integer from 1 to 200, got "0"/,
  ),
  fails(
    'op:list --limit -1',
    ['op:list', '--limit', '-1'],
    /error: --limit must be an integer from 1 to 200, got "-1"/,
  ),
  fails(
    'op:list --limit 1e9',
    ['op:list', '--limit', '1e9'],
    /error: --limit must be an integer from 1 to 200, got "1e9"/,
  ),
  fails(
    'op:list --limit NaN',
    ['op:list', '--limit', 'NaN'],
    /error: --limit must be an integer from 1 to 200, got "NaN"/,
  ),
  fails(
    'op:list --limit 201',
    ['op:list', '--limit', '201'],
    /error: --limit must be an integer from 1 to 200, got "201"/,
  ),
  fails(
    'op:list --limit 1.5',
    ['op:list', '--limit', '1.5'],
    /error: --limit must be an integer from 1 to 200, got "1\.5"/,
  ),
  fails(
    'op:list --status not a status',
    ['op:list', '--status', 'exploded'],
    /error: --status must be one of queued, .*got "exploded"/,
  ),
  fails(
    'op:list --cursor that is not one',
    ['op:list', '--cursor', '!!!'],
    /error: cursor is not valid/,
  ),
  fails(
    'op:list --cursor in year 0000',
    ['op:list', '--cursor', cursorOf(['0000-01-01T00:00:00.000000Z', SOME_ID])],
    /error: cursor is not valid/,
  ),
  fails(
    'op:list --cursor on 30 February',
    ['op:list', '--cursor', cursorOf(['2025-02-30T00:00:00.000000Z', SOME_ID])],
    /error: cursor is not valid/,
  ),

  fails(
    'op:show of an id that is not a UUID',
    ['op:show', 'nope'],
    /error: id must be a UUID, got "nope"/,
  ),
  fails('op:show of ../../etc/passwd', ['op:show', '../../etc/passwd'], /error: id must be a UUID/),
  fails('op:show of an unknown id', (f) => ['op:show', f.unknown], /error: operation .* not found/),
  fails('op:log of an id with SQL', ['op:log', "' OR 1=1 --"], /error: id must be a UUID/),
  fails('op:log of an unknown id', (f) => ['op:log', f.unknown], /error: operation .* not found/),
  fails(
    'op:log --after -1',
    (f) => ['op:log', f.queued, '--after', '-1'],
    /error: --after must be an integer from 0 to/,
  ),
  fails(
    'op:log --after 1e20',
    (f) => ['op:log', f.queued, '--after', '1e20'],
    /error: --after must be an integer from 0 to/,
  ),
  fails(
    'op:log --after abc',
    (f) => ['op:log', f.queued, '--after', 'abc'],
    /error: --after must be an integer from 0 to/,
  ),
  {
    name: 'op:log escapes the control characters of stored lines',
    args: (f) => ['op:log', f.escapes],
    expect: { code: 0, stdout: /cleared/, stdoutNot: RAW_CONTROL },
  },
  {
    name: 'op:log --raw prints stored lines as they are',
    args: (f) => ['op:log', f.escapes, '--raw'],
    // eslint-disable-next-line no-control-regex -- the escape itself, unchanged
    expect: { code: 0, stdout: /\u001b\[2J/ },
  },
  fails(
    'op:cancel of an id that is not a UUID',
    ['op:cancel', 'all'],
    /error: id must be a UUID, got "all"/,
  ),
  fails(
    'op:cancel of an unknown id',
    (f) => ['op:cancel', f.unknown],
    /error: operation .* not found/,
  ),
  fails(
    'op:cancel --reason empty',
    (f) => ['op:cancel', f.queued, '--reason', ''],
    /error: --reason must be 1 to 500 characters/,
  ),
  fails(
    'op:cancel --reason of 501 characters',
    (f) => ['op:cancel', f.queued, '--reason', 'r'.repeat(501)],
    /error: --reason must be 1 to 500 characters/,
  ),
  fails('op:retry of an id that is not a UUID', ['op:retry', '1'], /error: id must be a UUID/),
  fails(
    'op:retry of an unknown id',
    (f) => ['op:retry', f.unknown],
    /error: operation .* not found/,
  ),
  fails('op:retry of an operation still queued', (f) => ['op:retry', f.queued], /error: .*queued/),
  fails(
    'op:wait of an id that is not a UUID',
    ['op:wait', '../x'],
    /error: id must be a UUID, got "\.\.\/x"/,
  ),
  fails(
    'op:wait --timeout without a unit',
    (f) => ['op:wait', f.queued, '--timeout', '30'],
    /error: --timeout must be a duration like 90s, 30m or 2h/,
  ),
  fails(
    'op:wait --timeout of a year',
    (f) => ['op:wait', f.queued, '--timeout', '365d'],
    /error: --timeout must be a duration .*at most 7d/,
  ),
  fails(
    'op:create --params-file of a directory',
    echo('--target', 'web1', '--params-file', '/tmp'),
    /error: --params-file \/tmp is not a file/,
  ),
  fails(
    'op:create --params-file of a device',
    echo('--target', 'web1', '--params-file', '/dev/zero'),
    /error: --params-file \/dev\/zero is not a file/,
  ),
  fails(
    'op:list --since that is not a time',
    ['op:list', '--since', "2026-12-04'; DROP TABLE operations; --"],
    /error: --since must be an ISO 8601 time/,
  ),
  fails(
    'op:list --created-by of 256 characters',
    ['op:list', '--created-by', 'a'.repeat(256)],
    /error: --created-by must be 1 to 255 characters/,
  ),
  {
    name: 'catalogue:validate of a directory that does not exist',
    args: ['catalogue:validate', '/nonexistent/catalogue'],
    expect: {
      code: 1,
      stdout:
        /^no operation types found in \/nonexistent\/catalogue: the directory does not exist\n/,
    },
  },
  fails(
    'dlq:list --limit 0',
    ['dlq:list', '--limit', '0'],
    /error: --limit must be an integer from 1 to 1000, got "0"/,
  ),
  fails(
    'dlq:list --limit 1001',
    ['dlq:list', '--limit', '1001'],
    /error: --limit must be an integer from 1 to 1000, got "1001"/,
  ),
  fails(
    'dlq:replay --limit -1',
    ['dlq:replay', '--limit', '-1'],
    /error: --limit must be an integer from 1 to 100000, got "-1"/,
  ),
  fails(
    'dlq:replay --queue with a line break',
    ['dlq:replay', '--queue', 'aegir.events\nx'],
    /error: --queue must be 1 to 255 printable characters without spaces, got "aegir\.events\\nx"/,
    2,
  ),
  fails(
    'dlq:purge --id of 256 characters',
    ['dlq:purge', '--id', 'x'.repeat(256), '--yes'],
    /error: --id must be 1 to 255 printable characters without spaces/,
    2,
  ),
  fails(
    'dlq:purge without --yes and no terminal',
    ['dlq:purge'],
    /error: dlq:purge removes dead letters for good: pass --yes to confirm/,
    2,
  ),
  fails(
    'doctor --timeout of a negative duration',
    ['doctor', '--timeout', '-5s'],
    /error: --timeout must be a duration from 1s to 60m, like 30s, 2m or 1500ms, got "-5s"/,
    2,
  ),
  fails(
    'doctor --timeout of a day',
    ['doctor', '--timeout', '1440m'],
    /error: --timeout must be a duration from 1s to 60m/,
    2,
  ),
];
