/**
 * Keys that name an object's machinery, not data. class-transformer drops them silently, so a
 * body or query holding one would pass unchecked: it is refused instead, as an unknown
 * property is.
 */
const MACHINERY_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MACHINERY_KEY_TEXT = /"(?:__proto__|constructor|prototype)"\s*:/;

export const isMachineryKey = (key: string): boolean => MACHINERY_KEYS.has(key);

/** Whether a JSON text may hold a machinery key: only such a body is walked for one. */
export const mayHoldMachineryKey = (json: string): boolean => MACHINERY_KEY_TEXT.test(json);

/** The refusal of `key` at `path`, worded as the ValidationPipe words an unknown property. */
export function unknownProperty(path: string, key: string): string {
  if (!path) return `property ${key} should not exist`;
  if (path === 'params' || path.startsWith('params.'))
    return `${path}.${key} is not a known parameter`;
  return `${path}.${key} should not exist`;
}

/** The refusal for the first machinery key in a parsed body, if it has one. */
export function machineryKeyProblem(value: unknown, path = ''): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (!Array.isArray(value) && MACHINERY_KEYS.has(key)) return unknownProperty(path, key);
    const childPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    const found = machineryKeyProblem(child, childPath);
    if (found) return found;
  }
  return undefined;
}
