import type { ErrorObject } from 'ajv';

/** `tasks`, `0`, `timeout` → `tasks[0].timeout`; `root` is prefixed to the first segment. */
export function fieldPath(root: string, segments: readonly string[]): string {
  let path = root;
  for (const segment of segments) {
    if (/^(0|[1-9][0-9]*)$/.test(segment)) path += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) path += path ? `.${segment}` : segment;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

/** Splits an Ajv instancePath (a JSON pointer) into its unescaped segments. */
export function pointerSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The property an Ajv error is really about, when the error sits on its parent object. */
export function errorProperty(error: ErrorObject): string | undefined {
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  if (error.keyword === 'required') return params.missingProperty;
  if (error.keyword === 'additionalProperties') return params.additionalProperty;
  return undefined;
}

/** A value quoted for an error message, cut short so input is never echoed at length. */
export function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
