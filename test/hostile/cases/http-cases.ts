import type { OutgoingHttpHeaders } from 'node:http';
import { CYRILLIC_E, ESC, LONE_SURROGATE, NUL, nestedJson, nestedObject } from '../support';

/** Operations the suite makes before the cases run, for the cases that need one. */
export interface HttpFixtures {
  /** A `test.echo` operation that stays queued: the stack has no relay. */
  queued: string;
  /** A `test.echo` operation cancelled while queued. */
  cancelled: string;
  /** A well-formed id no operation has. */
  unknown: string;
}

export interface HttpCase {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Under /api/v1. */
  path: string | ((fixtures: HttpFixtures) => string);
  /** An object is sent as JSON; a string or Buffer exactly as given. */
  body?: unknown;
  /** Over the defaults (`content-type: application/json` with a body). */
  headers?: OutgoingHttpHeaders;
  expect: {
    status: number;
    /** What the answer's `message` must say: the field it names and the rule. */
    message?: RegExp;
  };
}

const echo = (params: unknown, more: Record<string, unknown> = {}) => ({
  type: 'test.echo',
  target: 'web1',
  params,
  ...more,
});
const sleep = (seconds: unknown) => ({ type: 'test.sleep', target: 'web1', params: { seconds } });
const create = (name: string, body: unknown, status: number, message?: RegExp): HttpCase => ({
  name,
  method: 'POST',
  path: '/operations',
  body,
  expect: { status, message },
});
const list = (name: string, query: string, status: number, message?: RegExp): HttpCase => ({
  name,
  method: 'GET',
  path: `/operations?${query}`,
  expect: { status, message },
});
const cursorOf = (value: unknown): string =>
  encodeURIComponent(Buffer.from(JSON.stringify(value), 'utf8').toString('base64url'));
const SOME_ID = '3f2c1b9e-8d7a-4c6b-9e5f-1a2b3c4d5e6f';
const validEcho = echo({ message: 'hi' });

/** POST /operations bodies: wrong types, hostile text, traversal, pollution, bounds. */
const createCases: HttpCase[] = [
  create('type is a number', { ...validEcho, type: 42 }, 400, /type must be a string/),
  create('type is null', { ...validEcho, type: null }, 400, /type must be a string/),
  create('type is an array', { ...validEcho, type: ['test.echo'] }, 400, /type must be a string/),
  create('type is an object', { ...validEcho, type: { $ne: '' } }, 400, /type must be a string/),
  create('type is missing', { target: 'web1', params: {} }, 400, /type must be a string/),
  create('type is empty', { ...validEcho, type: '' }, 400, /type should not be empty/),
  create(
    'type of 256 characters',
    { ...validEcho, type: 'a'.repeat(256) },
    400,
    /type must be shorter than or equal to 255 characters/,
  ),
  create(
    'type of 900 000 characters',
    { ...validEcho, type: 'x'.repeat(900_000) },
    400,
    /type must be shorter than or equal to 255 characters/,
  ),
  create(
    'type not in the catalogue',
    { ...validEcho, type: 'no.such' },
    400,
    /type "no\.such" is not in the catalogue/,
  ),
  create(
    'type with ../ traversal',
    { ...validEcho, type: '../../etc/passwd' },
    400,
    /type "\.\.\/\.\.\/etc\/passwd" is not in the catalogue/,
  ),
  create(
    'type as an absolute path',
    { ...validEcho, type: '/etc/passwd' },
    400,
    /type "\/etc\/passwd" is not in the catalogue/,
  ),
  create(
    'type with %2e%2e traversal',
    { ...validEcho, type: '%2e%2e%2fcatalogue%2ftest.echo' },
    400,
    /is not in the catalogue/,
  ),
  create(
    'type __proto__',
    { ...validEcho, type: '__proto__' },
    400,
    /type "__proto__" is not in the catalogue/,
  ),
  create(
    'type constructor',
    { ...validEcho, type: 'constructor' },
    400,
    /type "constructor" is not in the catalogue/,
  ),
  create(
    'type toString',
    { ...validEcho, type: 'toString' },
    400,
    /type "toString" is not in the catalogue/,
  ),
  create(
    'type with a Cyrillic homoglyph',
    { ...validEcho, type: `t${CYRILLIC_E}st.echo` },
    400,
    /is not in the catalogue/,
  ),
  create(
    'type with a trailing space',
    { ...validEcho, type: 'test.echo ' },
    400,
    /is not in the catalogue/,
  ),
  create('type in capitals', { ...validEcho, type: 'TEST.ECHO' }, 400, /is not in the catalogue/),
  create('type with NUL', { ...validEcho, type: `test.echo${NUL}` }, 400, /\btype\b.*NUL/),
  create(
    'type with a lone surrogate',
    { ...validEcho, type: `test.echo${LONE_SURROGATE}` },
    400,
    /\btype\b.*surrogate/,
  ),

  create('target is missing', { type: 'test.echo', params: {} }, 400, /target must be a string/),
  create('target is a number', { ...validEcho, target: 1 }, 400, /target must be a string/),
  create('target is true', { ...validEcho, target: true }, 400, /target must be a string/),
  create('target is empty', { ...validEcho, target: '' }, 400, /target should not be empty/),
  create('target with ../', { ...validEcho, target: '../etc' }, 400, /target must match/),
  create(
    'target as an absolute path',
    { ...validEcho, target: '/etc/passwd' },
    400,
    /target must match/,
  ),
  create('target with %2e%2e', { ...validEcho, target: '%2e%2e%2f' }, 400, /target must match/),
  create(
    'target that reads as an option',
    { ...validEcho, target: '-oProxyCommand=id' },
    400,
    /target must match/,
  ),
  create('target with a leading dot', { ...validEcho, target: '.ssh' }, 400, /target must match/),
  create('target with a space', { ...validEcho, target: 'web 1' }, 400, /target must match/),
  create(
    'target with a shell command',
    { ...validEcho, target: 'web1;rm -rf /' },
    400,
    /target must match/,
  ),
  create('target with a newline', { ...validEcho, target: 'web1\nweb2' }, 400, /target must match/),
  create(
    'target with an ANSI escape',
    { ...validEcho, target: `${ESC}[31mweb1` },
    400,
    /target must match/,
  ),
  create(
    'target with a Cyrillic homoglyph',
    { ...validEcho, target: `w${CYRILLIC_E}b1` },
    400,
    /target must match/,
  ),
  create(
    'target in fullwidth letters',
    { ...validEcho, target: '\uff57\uff45\uff42\uff11' },
    400,
    /target must match/,
  ),
  create(
    'target with a Jinja template',
    { ...validEcho, target: "{{ lookup('pipe', 'id') }}" },
    400,
    /target must match/,
  ),
  create(
    'target of 256 characters',
    { ...validEcho, target: 'a'.repeat(256) },
    400,
    /target must be shorter than or equal to 255 characters/,
  ),
  create('target with NUL', { ...validEcho, target: `web1${NUL}` }, 400, /\btarget\b.*NUL/),
  create(
    'target with a lone surrogate',
    { ...validEcho, target: `web1${LONE_SURROGATE}` },
    400,
    /\btarget\b.*surrogate/,
  ),

  create('params is a string', echo('message=hi'), 400, /params must be an object/),
  create('params is an array', echo([{ message: 'hi' }]), 400, /params must be an object/),
  create('params is a number', echo(7), 400, /params must be an object/),
  create('params is null', echo(null), 400, /params must be object/),
  create(
    'params with an unknown field',
    echo({ message: 'hi', extra: 1 }),
    400,
    /params\.extra is not a known parameter/,
  ),
  create('params without a required field', echo({}), 400, /params\.message is required/),
  create(
    'params field of the wrong type',
    echo({ message: 5 }),
    400,
    /params\.message must be string/,
  ),
  create(
    'params field over its maxLength',
    echo({ message: 'm'.repeat(1001) }),
    400,
    /params\.message must NOT have more than 1000 characters/,
  ),
  create(
    'params with a __proto__ key',
    '{"type":"test.echo","target":"web1","params":{"message":"hi","__proto__":{"polluted":true}}}',
    400,
    /params\.__proto__ is not a known parameter/,
  ),
  create(
    'params with a constructor.prototype key',
    echo({ message: 'hi', constructor: { prototype: { polluted: true } } }),
    400,
    /params\.constructor is not a known parameter/,
  ),
  create(
    'params with an Ansible marker key',
    { type: 'demo.hello', target: 'web1', params: { __ansible_unsafe: 'x' } },
    400,
    /params\.__ansible_unsafe is not a known parameter/,
  ),
  create('params value with NUL', echo({ message: `hi${NUL}there` }), 400, /params\.message.*NUL/),
  create(
    'params value with a lone surrogate',
    echo({ message: `hi${LONE_SURROGATE}` }),
    400,
    /params\.message.*surrogate/,
  ),
  create('params key with NUL', echo({ [`message${NUL}`]: 'hi' }), 400, /params.*NUL/),
  create('params integer below its minimum', sleep(-1), 400, /params\.seconds must be >= 0/),
  create('params integer of 1e9', sleep(1e9), 400, /params\.seconds must be <= 3600/),
  create('params integer as a fraction', sleep(1.5), 400, /params\.seconds must be integer/),
  create('params integer as a string', sleep('5'), 400, /params\.seconds must be integer/),
  create(
    'params integer of 1e400 (Infinity)',
    '{"type":"test.sleep","target":"web1","params":{"seconds":1e400}}',
    400,
    /params\.seconds must be/,
  ),
  create(
    'params with a Jinja template where none may be',
    { type: 'demo.hello', target: 'web1', params: { greeting: '{{ lookup("env", "HOME") }}' } },
    400,
    /params\.greeting must match pattern/,
  ),
  create(
    'params 33 levels deep',
    echo({ message: 'hi', deep: nestedObject(33) }),
    400,
    /JSON nested deeper than 32 levels/,
  ),
  create(
    'a body 100 000 arrays deep',
    `{"type":"test.echo","target":"web1","params":{"message":"hi","deep":${nestedJson(100_000)}}}`,
    400,
    /JSON nested deeper than 32 levels/,
  ),
  create(
    'params with an array of 200 000 items',
    echo({ message: 'hi', many: new Array(200_000).fill(0) }),
    400,
    /params\.many is not a known parameter/,
  ),
  create('a body over 1 MB', echo({ message: 'x'.repeat(1_100_000) }), 413, /too large/i),

  create(
    'an unknown top-level field',
    { ...validEcho, priority: 'urgent' },
    400,
    /property priority should not exist/,
  ),
  create(
    'a top-level __proto__ key',
    '{"__proto__":{"isAdmin":true},"type":"test.echo","target":"web1","params":{"message":"hi"}}',
    400,
    /property __proto__ should not exist/,
  ),
  create(
    'a top-level constructor key',
    { ...validEcho, constructor: { prototype: { isAdmin: true } } },
    400,
    /property constructor should not exist/,
  ),
  create('a JSON array body', [validEcho], 400, /type must be a string/),
  create('a JSON string body', '"test.echo"', 400),
  create('a JSON null body', 'null', 400),
  create('a JSON number body', '42', 400),
  create('truncated JSON', '{"type": "test.echo", "target":', 400),
  create('JSON with a trailing comma', '{"type": "test.echo",}', 400),
  create('JSON with single quotes', "{'type': 'test.echo'}", 400),
  create('JSON with a BOM and garbage', '\ufeff\u0000\u0001{}', 400),
  create('an empty JSON body', '', 400, /type must be a string/),
];

/** Bodies that are not JSON, or say they are not. */
const mediaCases: HttpCase[] = (
  [
    ['text/plain', 'type=test.echo&target=web1'],
    ['application/x-www-form-urlencoded', 'type=test.echo&target=web1&params[message]=hi'],
    [
      'multipart/form-data; boundary=x',
      '--x\r\nContent-Disposition: form-data; name="type"\r\n\r\ntest.echo\r\n--x--',
    ],
    ['text/html', '<form></form>'],
    ['application/xml', '<operation type="test.echo"/>'],
    ['application/json-patch+json', JSON.stringify(validEcho)],
    ['application/javascript', JSON.stringify(validEcho)],
    ['', JSON.stringify(validEcho)],
  ] as const
).map(([type, body]): HttpCase => ({
  name: `a body sent as ${type === '' ? 'no content-type' : type}`,
  method: 'POST',
  path: '/operations',
  body,
  headers: { 'content-type': type === '' ? undefined : type },
  expect: { status: 415, message: /request bodies must be application\/json/ },
}));

const listCases: HttpCase[] = [
  list('limit=0', 'limit=0', 400, /limit must not be less than 1/),
  list('limit=-1', 'limit=-1', 400, /limit must not be less than 1/),
  list('limit=1e9', 'limit=1e9', 400, /limit must not be greater than 200/),
  list('limit=201', 'limit=201', 400, /limit must not be greater than 200/),
  list('limit=NaN', 'limit=NaN', 400, /limit must be an integer number/),
  list('limit=abc', 'limit=abc', 400, /limit must be an integer number/),
  list('limit=1.5', 'limit=1.5', 400, /limit must be an integer number/),
  list('limit empty', 'limit=', 400, /limit/),
  list('limit given twice', 'limit=1&limit=2', 400, /limit/),
  list('status not a status', 'status=exploded', 400, /status must be one of the following values/),
  list(
    'status with SQL',
    `status=${encodeURIComponent("queued' OR '1'='1")}`,
    400,
    /status must be one of/,
  ),
  list(
    'type filter of 256 characters',
    `type=${'a'.repeat(256)}`,
    400,
    /type must be shorter than or equal to 255/,
  ),
  list('type filter with NUL', 'type=test.echo%00', 400, /\btype\b.*NUL/),
  list('target filter with NUL', 'target=web1%00', 400, /\btarget\b.*NUL/),
  list('target filter with invalid UTF-8', 'target=%ED%A0%80', 200),
  list('an unknown filter', 'owner=me', 400, /property owner should not exist/),
  list('a __proto__ filter', '__proto__=1', 400, /property __proto__ should not exist/),
  list('cursor not base64url JSON', 'cursor=!!!', 400, /cursor is not valid/),
  list(
    'cursor of an object',
    `cursor=${cursorOf({ createdAt: '2026-01-01', id: SOME_ID })}`,
    400,
    /cursor is not valid/,
  ),
  list(
    'cursor with a bad UUID',
    `cursor=${cursorOf(['2026-01-01T00:00:00.000000Z', 'x'])}`,
    400,
    /cursor is not valid/,
  ),
  list(
    'cursor on 30 February',
    `cursor=${cursorOf(['2025-02-30T00:00:00.000000Z', SOME_ID])}`,
    400,
    /cursor is not valid/,
  ),
  list(
    'cursor in year 0000',
    `cursor=${cursorOf(['0000-01-01T00:00:00.000000Z', SOME_ID])}`,
    400,
    /cursor is not valid/,
  ),
  list(
    'cursor of 1001 characters',
    `cursor=${'A'.repeat(1001)}`,
    400,
    /cursor must be shorter than or equal to 1000/,
  ),
];

const byId = (
  name: string,
  method: HttpCase['method'],
  path: HttpCase['path'],
  status: number,
  message?: RegExp,
  body?: unknown,
): HttpCase => ({ name, method, path, body, expect: { status, message } });

const idCases: HttpCase[] = [
  byId('GET an id that is not a UUID', 'GET', '/operations/not-a-uuid', 400, /id must be a UUID/),
  byId(
    'GET an id with %2e%2e traversal',
    'GET',
    '/operations/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    400,
    /id must be a UUID/,
  ),
  byId('GET an id with NUL', 'GET', `/operations/${SOME_ID}%00`, 400, /\bid\b/),
  byId('GET an id in braces', 'GET', `/operations/%7B${SOME_ID}%7D`, 400, /id must be a UUID/),
  byId(
    'GET an id with SQL',
    'GET',
    `/operations/${encodeURIComponent("' OR '1'='1")}`,
    400,
    /id must be a UUID/,
  ),
  byId(
    'GET an id of 8000 characters',
    'GET',
    `/operations/${'a'.repeat(8000)}`,
    400,
    /id must be a UUID/,
  ),
  byId(
    'GET an unknown id',
    'GET',
    (f) => `/operations/${f.unknown}`,
    404,
    /operation .* not found/,
  ),
  byId('GET the log of a bad id', 'GET', '/operations/1/log', 400, /id must be a UUID/),
  byId(
    'GET the log of an unknown id',
    'GET',
    (f) => `/operations/${f.unknown}/log`,
    404,
    /not found/,
  ),
  byId(
    'log after=-1',
    'GET',
    (f) => `/operations/${f.queued}/log?after=-1`,
    400,
    /after must not be less than 0/,
  ),
  byId(
    'log after=1e20',
    'GET',
    (f) => `/operations/${f.queued}/log?after=1e20`,
    400,
    /after must not be greater than/,
  ),
  byId(
    'log after=abc',
    'GET',
    (f) => `/operations/${f.queued}/log?after=abc`,
    400,
    /after must be an integer/,
  ),
  byId(
    'log limit=0',
    'GET',
    (f) => `/operations/${f.queued}/log?limit=0`,
    400,
    /limit must not be less than 1/,
  ),
  byId(
    'log limit=-1',
    'GET',
    (f) => `/operations/${f.queued}/log?limit=-1`,
    400,
    /limit must not be less than 1/,
  ),
  byId(
    'log limit=1e9',
    'GET',
    (f) => `/operations/${f.queued}/log?limit=1e9`,
    400,
    /limit must not be greater than/,
  ),
  byId(
    'log limit=NaN',
    'GET',
    (f) => `/operations/${f.queued}/log?limit=NaN`,
    400,
    /limit must be an integer/,
  ),
  byId(
    'log with an unknown query field',
    'GET',
    (f) => `/operations/${f.queued}/log?raw=1`,
    400,
    /property raw should not exist/,
  ),

  byId('cancel a bad id', 'POST', '/operations/..%2f..%2f/cancel', 400, /id must be a UUID/, {}),
  byId(
    'cancel an unknown id',
    'POST',
    (f) => `/operations/${f.unknown}/cancel`,
    404,
    /not found/,
    {},
  ),
  byId(
    'cancel reason is a number',
    'POST',
    (f) => `/operations/${f.queued}/cancel`,
    400,
    /reason must be a string/,
    { reason: 5 },
  ),
  byId(
    'cancel reason is empty',
    'POST',
    (f) => `/operations/${f.queued}/cancel`,
    400,
    /reason should not be empty/,
    { reason: '' },
  ),
  byId(
    'cancel reason of 501 characters',
    'POST',
    (f) => `/operations/${f.queued}/cancel`,
    400,
    /reason must be shorter than or equal to 500/,
    { reason: 'r'.repeat(501) },
  ),
  byId(
    'cancel reason with NUL',
    'POST',
    (f) => `/operations/${f.queued}/cancel`,
    400,
    /\breason\b.*NUL/,
    { reason: `because${NUL}` },
  ),
  byId(
    'cancel reason with a lone surrogate',
    'POST',
    (f) => `/operations/${f.queued}/cancel`,
    400,
    /\breason\b.*surrogate/,
    { reason: `because${LONE_SURROGATE}` },
  ),
  byId(
    'cancel with an unknown field',
    'POST',
    (f) => `/operations/${f.queued}/cancel`,
    400,
    /property force should not exist/,
    { force: true },
  ),
  byId(
    'cancel with a JSON array body',
    'POST',
    (f) => `/operations/${f.queued}/cancel`,
    400,
    undefined,
    '["now"]',
  ),
  {
    name: 'cancel with a form body',
    method: 'POST',
    path: (f) => `/operations/${f.queued}/cancel`,
    body: 'reason=csrf',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    expect: { status: 415, message: /request bodies must be application\/json/ },
  },
  byId(
    'cancel an operation already cancelled',
    'POST',
    (f) => `/operations/${f.cancelled}/cancel`,
    409,
    /already cancelled/,
    {},
  ),
  byId('retry a bad id', 'POST', '/operations/null/retry', 400, /id must be a UUID/),
  byId('retry an unknown id', 'POST', (f) => `/operations/${f.unknown}/retry`, 404, /not found/),
  byId(
    'retry an operation still queued',
    'POST',
    (f) => `/operations/${f.queued}/retry`,
    409,
    /queued/,
  ),
];

const routeCases: HttpCase[] = [
  byId('PUT on the collection', 'PUT', '/operations', 404, undefined, validEcho),
  byId('DELETE an operation', 'DELETE', (f) => `/operations/${f.queued}`, 404),
  byId('PATCH an operation', 'PATCH', (f) => `/operations/${f.queued}`, 404, undefined, {
    status: 'succeeded',
  }),
  byId('a path with %2e%2e out of the api', 'GET', '/%2e%2e/%2e%2e/etc/passwd', 404),
  byId('an unknown route', 'GET', '/admin', 404),
];

/** Bearer auth (issue 9, item 1): a request with a token that is not one is a 401. */
const authCases: HttpCase[] = [
  {
    name: 'create with a bearer token that is not one',
    method: 'POST',
    path: '/operations',
    body: validEcho,
    headers: { authorization: 'Bearer not-a-token' },
    expect: { status: 401 },
  },
  {
    name: 'list with Basic credentials instead of a token',
    method: 'GET',
    path: '/operations',
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    expect: { status: 401 },
  },
  {
    name: 'list with a bearer token of 6000 characters',
    method: 'GET',
    path: '/operations',
    headers: { authorization: `Bearer ${'a'.repeat(6000)}` },
    expect: { status: 401 },
  },
  {
    name: 'cancel with an empty bearer token',
    method: 'POST',
    path: (f) => `/operations/${f.queued}/cancel`,
    body: {},
    headers: { authorization: 'Bearer ' },
    expect: { status: 401 },
  },
];

export const httpCases: HttpCase[] = [
  ...createCases,
  ...mediaCases,
  ...listCases,
  ...idCases,
  ...routeCases,
  ...authCases,
];
