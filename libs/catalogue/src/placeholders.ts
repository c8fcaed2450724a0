/**
 * Placeholders in a command's argv. An element is either literal text or exactly one
 * placeholder: a value always fills a whole argument, never part of one, so it can't
 * smuggle in an option or be split differently than the author meant.
 */
export type ArgvPart =
  | { kind: 'literal'; text: string }
  | { kind: 'target' | 'operation_id' | 'type' }
  | { kind: 'param'; name: string };

const WHOLE_PLACEHOLDER = /^\{\{\s*([^{}]*?)\s*\}\}$/;
const PARAM_REFERENCE = /^params\.([A-Za-z_][A-Za-z0-9_]*)$/;
export const PLACEHOLDER_NAMES = ['target', 'operation_id', 'type', 'params.NAME'] as const;

/** Parses one argv element; throws an Error saying what is wrong with it. */
export function parseArgvElement(element: string): ArgvPart {
  if (element.includes('\0')) throw new Error('must not contain a NUL character');
  const match = WHOLE_PLACEHOLDER.exec(element);
  if (!match) {
    if (element.includes('{{') || element.includes('}}')) {
      throw new Error(
        'must be exactly one placeholder such as "{{ target }}": a placeholder fills a whole argv element, never part of one',
      );
    }
    return { kind: 'literal', text: element };
  }
  const name = match[1];
  if (name === 'target' || name === 'operation_id' || name === 'type') return { kind: name };
  const param = PARAM_REFERENCE.exec(name);
  if (param) return { kind: 'param', name: param[1] };
  throw new Error(
    `names an unknown placeholder "${name}" (known: ${PLACEHOLDER_NAMES.join(', ')})`,
  );
}

/** A program name looked up on PATH, or an absolute path; never relative to the workspace. */
const PROGRAM_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/;

export function isValidProgram(program: string): boolean {
  if (PROGRAM_NAME.test(program)) return true;
  return (
    program.startsWith('/') &&
    program.length > 1 &&
    !program.endsWith('/') &&
    program
      .split('/')
      .every((segment, i) => i === 0 || (segment !== '' && segment !== '.' && segment !== '..'))
  );
}
