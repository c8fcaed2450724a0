import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** Params become top-level Ansible extra vars, so their names must be plain variable names. */
export const PARAM_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Keys that JavaScript objects treat specially: the api drops them from a body. */
const OBJECT_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** The dict of operation facts the dispatcher adds next to the params. */
export const RESERVED_PARAM = 'aegir';

export interface ParamsSchema {
  /** The schema as exposed on OperationType, with `additionalProperties: false` filled in. */
  schema: Record<string, unknown>;
  validate: ValidateFunction;
}

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
  let validate: ValidateFunction;
  try {
    // Compile a copy: the schema handed out on OperationType is frozen afterwards.
    validate = ajv.compile(structuredClone(schema));
  } catch (error) {
    throw new Error(`params is not a valid JSON Schema: ${(error as Error).message}`);
  }
  return { schema, validate };
}

/** Why `{{ params.NAME }}` cannot fill an argv element, or undefined when it can. */
export function paramPlaceholderProblem(
  schema: Record<string, unknown>,
  name: string,
): string | undefined {
  const properties = isObject(schema.properties) ? schema.properties : {};
  const property = Object.hasOwn(properties, name) ? properties[name] : undefined;
  if (!isObject(property)) return `params.${name} is not declared in params.properties`;
  const required = Array.isArray(schema.required) ? (schema.required as unknown[]) : [];
  if (!required.includes(name) && property.default === undefined) {
    return `params.${name} must be required or have a default, so it always has a value`;
  }
  if (!['string', 'number', 'integer', 'boolean'].includes(property.type as string)) {
    return `params.${name} must have type string, number, integer or boolean to fill an argv element`;
  }
  return undefined;
}
