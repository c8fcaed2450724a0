/** NUL and unpaired UTF-16 surrogates: no text column or jsonb value of PostgreSQL takes them. */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSTORABLE_RULE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

export const isUnstorable = (text: string): boolean =>
  text.includes('\u0000') || UNPAIRED_SURROGATE.test(text);

const UNSTORABLE_ALL = new RegExp(`\u0000|${UNPAIRED_SURROGATE.source}`, 'g');

/** The text with each NUL and unpaired surrogate replaced by U+FFFD, for records that must keep what came. */
export const toStorable = (text: string): string => text.replace(UNSTORABLE_ALL, '\ufffd');

/**
 * The path of the first string (or key) in a value that the database could not store, e.g.
 * `params.list[1]` or `params."a\u0000" (a key)`; undefined when every one is storable.
 */
export function unstorablePath(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return isUnstorable(value) ? path || 'body' : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    const childPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
    if (isUnstorable(key)) return `${path ? `${path}.` : ''}${JSON.stringify(key)} (a key)`;
    const found = unstorablePath(child, childPath);
    if (found) return found;
  }
  return undefined;
}
