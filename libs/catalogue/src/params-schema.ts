import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { sealedValueSchema } from '@app/contracts';

/** Params become top-level Ansible extra vars, so their names must be plain variable names. */
export const PARAM_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Keys that JavaScript objects treat specially: the api drops them from a body. */
const OBJECT_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** The dict of operation facts the dispatcher adds next to the params. */
export const RESERVED_PARAM = 'aegir';

/** Longest value of a secret parameter, in characters. */
export const MAX_SECRET_LENGTH = 4096;

export interface ParamsSchema {
  /** The schema as exposed on OperationType, with `additionalProperties: false` filled in. */
  schema: Record<string, unknown>;
  /** Params as a client sends them: secret ones in clear. */
  validate: ValidateFunction;
  /** Params as stored and dispatched: each secret one a sealed value (`{ sealed }`). */
  validateStored: ValidateFunction;
  /** The parameters declared `secret: true`, sorted. */
  secretParams: string[];
}

/** A secret must be given by the client, as text: nothing in the schema may spell it out. */
const SECRET_FORBIDDEN_KEYWORDS = ['default', 'enum', 'const', 'examples'];
/** Keywords that could constrain a secret from outside its property, where it is sealed. */
const SECRET_FORBIDDEN_TOP_LEVEL = [
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'dependencies',
  'dependentSchemas',
  'dependentRequired',
];

/**
 * One Ajv instance per loaded catalogue: schemas are compiled once, and `$id`s of
 * different catalogues never collide. Strict about unknown keywords, so a typo such as
 * `maxlenght` is a load error instead of a check that silently never runs.
 */
export function createParamsAjv(): Ajv {
  const ajv = new Ajv({
    strict: true,
    strictTypes: false,
    strictTuples: false,
    allErrors: false,
    useDefaults: true,
    coerceTypes: false,
  });
  addFormats(ajv);
  return ajv;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks the rules a params schema must follow beyond being a JSON Schema, then compiles it.
 * Throws an Error whose message starts with the field (`params.type must be ...`).
 */
export function prepareParamsSchema(
  ajv: Ajv,
  raw: Record<string, unknown> | undefined,
): ParamsSchema {
  const schema: Record<string, unknown> = raw
    ? { ...raw }
    : { type: 'object', additionalProperties: false, properties: {} };
  if (schema.type !== 'object') throw new Error('params.type must be "object"');
  if (schema.additionalProperties === undefined) schema.additionalProperties = false;
  if (schema.additionalProperties !== false) {
    throw new Error(
      'params.additionalProperties must be false: every parameter becomes an Ansible extra var, so each must be declared',
    );
  }
  if (schema.patternProperties !== undefined) {
    throw new Error(
      'params.patternProperties is not allowed: every parameter must be declared by name in params.properties',
    );
  }
  const properties = schema.properties ?? {};
  if (!isObject(properties)) throw new Error('params.properties must be an object');
  for (const name of Object.keys(properties)) {
    if (name === RESERVED_PARAM) {
      throw new Error(
        `params.properties.${name} is reserved for the variables the dispatcher adds`,
      );
    }
    if (OBJECT_KEYS.has(name)) {
      throw new Error(`params.properties.${name} is reserved: a JSON body cannot carry it as data`);
    }
    if (!PARAM_NAME_PATTERN.test(name)) {
      throw new Error(
        `params.properties[${JSON.stringify(name)}] must be a variable name matching ${PARAM_NAME_PATTERN.source}`,
      );
    }
    if (name.toLowerCase().startsWith('ansible_') || name.startsWith('__ansible')) {
      throw new Error(
        `params.properties.${name} is reserved: names starting with ansible_ (or __ansible) belong to Ansible`,
      );
    }
  }
  const secretParams = secretParamsOf(schema, properties);
  // Ajv knows no `secret` keyword: it is taken off the declared properties before compiling,
  // so a `secret` anywhere else is refused as an unknown keyword.
  const clear = structuredClone(schema) as { properties?: Record<string, Record<string, unknown>> };
  for (const property of Object.values(clear.properties ?? {})) {
    if (isObject(property)) delete property.secret;
  }
  const stored = structuredClone(clear);
  for (const name of secretParams) stored.properties![name] = structuredClone(sealedValueSchema);
  try {
    // Compile copies: the schema handed out on OperationType is frozen afterwards.
    const validate = ajv.compile(clear);
    const validateStored = secretParams.length ? ajv.compile(stored) : validate;
    return { schema, validate, validateStored, secretParams };
  } catch (error) {
    throw new Error(`params is not a valid JSON Schema: ${(error as Error).message}`);
  }
}

/** The properties marked `secret: true`, checked: a string, given by the client, never shown. */
function secretParamsOf(
  schema: Record<string, unknown>,
  properties: Record<string, unknown>,
): string[] {
  const secrets: string[] = [];
  for (const [name, property] of Object.entries(properties)) {
    if (!isObject(property) || !Object.hasOwn(property, 'secret')) continue;
    const field = `params.properties.${name}`;
    if (typeof property.secret !== 'boolean') throw new Error(`${field}.secret must be boolean`);
    if (!property.secret) continue;
    if (property.type !== 'string') throw new Error(`${field}: a secret must have type string`);
    for (const keyword of SECRET_FORBIDDEN_KEYWORDS) {
      if (Object.hasOwn(property, keyword)) {
        throw new Error(`${field}.${keyword} is not allowed on a secret: it would be in clear`);
      }
    }
    secrets.push(name);
  }
  if (secrets.length === 0) return secrets;
  for (const keyword of SECRET_FORBIDDEN_TOP_LEVEL) {
    if (Object.hasOwn(schema, keyword)) {
      throw new Error(
        `params.${keyword} is not allowed in a type with secret parameters: a secret is checked only by its own property`,
      );
    }
  }
  return secrets.sort();
}

/** Why `{{ params.NAME }}` cannot fill an argv element, or undefined when it can. */
export function paramPlaceholderProblem(
  schema: Record<string, unknown>,
  name: string,
): string | undefined {
  const properties = isObject(schema.properties) ? schema.properties : {};
  const property = Object.hasOwn(properties, name) ? properties[name] : undefined;
  if (!isObject(property)) return `params.${name} is not declared in params.properties`;
  if (property.secret === true) {
    return `params.${name} is secret: it reaches a task only in the vars file, never in argv`;
  }
  const required = Array.isArray(schema.required) ? (schema.required as unknown[]) : [];
  if (!required.includes(name) && property.default === undefined) {
    return `params.${name} must be required or have a default, so it always has a value`;
  }
  if (!['string', 'number', 'integer', 'boolean'].includes(property.type as string)) {
    return `params.${name} must have type string, number, integer or boolean to fill an argv element`;
  }
  return undefined;
}
