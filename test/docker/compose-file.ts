import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  /** Short (`source:target`) or long syntax. */
  volumes?: (string | ComposeMount)[];
  ports?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  restart?: string;
}

export interface ComposeMount {
  type: string;
  source: string;
  target: string;
  read_only?: boolean;
  volume?: { subpath?: string };
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A `${NAME}` in the file that has no default: `up` would need it set. */
export interface Unresolved {
  name: string;
  where: string;
}

/**
 * Reads a compose file as Compose does before it validates: YAML with `<<` merge keys,
 * then `${VAR}` / `${VAR:-default}` / `${VAR-default}` / `$$` interpolated from `env`
 * (the defaults when `env` is empty). Returns what could not be resolved too.
 */
export function loadComposeFile(
  path: string,
  env: Record<string, string | undefined> = {},
): { compose: ComposeFile; unresolved: Unresolved[] } {
  const raw: unknown = parse(readFileSync(path, 'utf8'), { merge: true });
  const unresolved: Unresolved[] = [];
  const compose = interpolate(raw, env, unresolved, '') as ComposeFile;
  return { compose, unresolved };
}

function interpolate(
  value: unknown,
  env: Record<string, string | undefined>,
  unresolved: Unresolved[],
  where: string,
): unknown {
  if (typeof value === 'string') return interpolateString(value, env, unresolved, where);
  if (Array.isArray(value)) {
    return value.map((item, i) => interpolate(item, env, unresolved, `${where}[${i}]`));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        interpolate(item, env, unresolved, where === '' ? key : `${where}.${key}`),
      ]),
    );
  }
  // numbers and booleans are kept; the schema says where a string is needed
  return value;
}

const REFERENCE =
  /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

function interpolateString(
  text: string,
  env: Record<string, string | undefined>,
  unresolved: Unresolved[],
  where: string,
): string {
  return text.replace(
    REFERENCE,
    (whole, braced?: string, operator?: string, operand?: string, bare?: string) => {
      if (whole === '$$') return '$';
      const name = (braced ?? bare)!;
      const value = env[name];
      const unset = operator?.startsWith(':')
        ? value === undefined || value === ''
        : value === undefined;
      if (!unset) return value!;
      if (operator === ':-' || operator === '-') return operand ?? '';
      unresolved.push({ name, where });
      return '';
    },
  );
}
