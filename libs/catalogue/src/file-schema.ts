import Ajv, { type ErrorObject } from 'ajv';
import { POOL_PATTERN } from '@app/contracts';
import { errorProperty, fieldPath, pointerSegments } from './fields';

export const TYPE_NAME_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;
export const TASK_NAME_PATTERN = /^[a-z][a-z0-9_-]*$/;
export const MAX_TASKS = 50;
export const DEFAULT_TIMEOUT_SECONDS = 3600;
export const MAX_TIMEOUT_SECONDS = 86400;
export const MAX_RETRY_ATTEMPTS = 10;
/** What one operation may print (its lines' text, all tasks) before it is stopped and failed. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
export const MAX_MAX_OUTPUT_BYTES = 16 * 1024 * 1024 * 1024;
export const MAX_RETRY_BACKOFF_SECONDS = 86400;

/** One task exactly as written in a catalogue file, after structural validation. */
export interface RawTask {
  name: string;
  runner: 'ansible-playbook' | 'command';
  playbook?: string;
  inventory?: 'localhost' | 'target';
  timeout?: number;
  argv?: string[];
}

/** A catalogue file exactly as written, after structural validation. */
export interface RawTypeFile {
  name: string;
  description: string;
  pool?: string;
  parallel?: boolean;
  retry?: { attempts?: number; backoff?: number };
  maxOutputBytes?: number;
  params?: Record<string, unknown>;
  tasks: RawTask[];
}

const fileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'tasks'],
  properties: {
    name: { type: 'string', maxLength: 128, pattern: TYPE_NAME_PATTERN.source },
    description: { type: 'string', minLength: 1, maxLength: 4000 },
    pool: { type: 'string', pattern: POOL_PATTERN.source },
    parallel: { type: 'boolean' },
    retry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        attempts: { type: 'integer', minimum: 0, maximum: MAX_RETRY_ATTEMPTS },
        backoff: { type: 'integer', minimum: 0, maximum: MAX_RETRY_BACKOFF_SECONDS },
      },
    },
    maxOutputBytes: { type: 'integer', minimum: 1, maximum: MAX_MAX_OUTPUT_BYTES },
    // Checked and compiled as a JSON Schema of its own, see params-schema.ts.
    params: { type: 'object' },
    tasks: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_TASKS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'runner'],
        properties: {
          name: { type: 'string', maxLength: 64, pattern: TASK_NAME_PATTERN.source },
          runner: { enum: ['ansible-playbook', 'command'] },
          playbook: { type: 'string', minLength: 1, maxLength: 1024 },
          inventory: { enum: ['localhost', 'target'] },
          timeout: { type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_SECONDS },
          argv: {
            type: 'array',
            minItems: 1,
            maxItems: 256,
            items: { type: 'string', maxLength: 4096 },
          },
        },
      },
    },
  },
};

const validateFile = new Ajv({ strict: true, allErrors: false }).compile<RawTypeFile>(fileSchema);

function describe(error: ErrorObject): string {
  const segments = pointerSegments(error.instancePath);
  const property = errorProperty(error);
  if (error.keyword === 'required') {
    return `${fieldPath('', [...segments, property ?? '?'])} is required`;
  }
  if (error.keyword === 'additionalProperties') {
    return `${fieldPath('', [...segments, property ?? '?'])} is not a known field`;
  }
  const field = fieldPath('', segments) || 'the file';
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
    return `${field} must be one of: ${allowed.join(', ')}`;
  }
  return `${field} ${error.message ?? 'is invalid'}`;
}

/** Checks the shape of a parsed file; returns the problem, described by field, or the file. */
export function checkFileStructure(
  value: unknown,
): { ok: true; file: RawTypeFile } | { ok: false; problem: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'the file must hold a YAML mapping (name, description, tasks)' };
  }
  if (validateFile(value)) return { ok: true, file: value };
  const first = validateFile.errors?.[0];
  return { ok: false, problem: first ? describe(first) : 'the file is invalid' };
}
