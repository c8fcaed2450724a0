import picomatch from 'picomatch';
import { TOKEN_ROLES, type TokenRole } from '../entities/checks';

/**
 * A token request that breaks a rule (name, role, glob, duration): the api answers 400 with
 * the message, the CLI exits 2 with it. `field` names what was wrong.
 */
export class TokenRequestError extends Error {
  override readonly name = 'TokenRequestError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** What a scope glob may hold: the characters of type and target names, and glob syntax. */
const GLOB_PATTERN = /^[A-Za-z0-9._\-*?[\]{}!,]{1,200}$/;
const DURATION_PATTERN = /^([1-9][0-9]{0,5})([mhd])$/;
const SECONDS = { m: 60, h: 3600, d: 86_400 } as const;
/** Ten years: longer is a token that never expires, and should say so by having no --expires. */
export const MAX_TOKEN_LIFETIME_SECONDS = 3650 * 86_400;

export function checkTokenName(name: unknown): string {
  if (typeof name !== 'string' || !TOKEN_NAME_PATTERN.test(name)) {
    throw new TokenRequestError(
      'name',
      `name must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

export function checkRole(role: unknown): TokenRole {
  if (typeof role !== 'string' || !(TOKEN_ROLES as readonly string[]).includes(role)) {
    throw new TokenRequestError(
      'role',
      `role must be one of ${TOKEN_ROLES.join(', ')}, got ${JSON.stringify(role)}`,
    );
  }
  return role as TokenRole;
}

/** A scope glob (picomatch syntax: `*`, `?`, `[…]`, `{a,b}`, `!`), or null for "any". */
export function checkGlob(field: 'types' | 'targets', glob: unknown): string | null {
  if (glob === undefined || glob === null) return null;
  if (typeof glob !== 'string' || !GLOB_PATTERN.test(glob)) {
    throw new TokenRequestError(
      field,
      `${field} must be a glob of 1 to 200 characters from A-Z a-z 0-9 . _ - * ? [ ] { } ! , got ${JSON.stringify(glob)}`,
    );
  }
  try {
    picomatch.makeRe(glob, { strictBrackets: true });
  } catch (error) {
    throw new TokenRequestError(field, `${field} is not a valid glob: ${(error as Error).message}`);
  }
  return glob;
}

/** `30m`, `12h`, `90d` → seconds; at most ten years. */
export function parseDuration(field: string, text: unknown): number {
  const match = typeof text === 'string' ? DURATION_PATTERN.exec(text) : null;
  const seconds = match ? Number(match[1]) * SECONDS[match[2] as keyof typeof SECONDS] : NaN;
  if (!match || seconds > MAX_TOKEN_LIFETIME_SECONDS) {
    throw new TokenRequestError(
      field,
      `${field} must be a duration like 30m, 12h or 90d (minutes, hours, days; at most 3650d), got ${JSON.stringify(text)}`,
    );
  }
  return seconds;
}

/** What a token may act on: each glob null (any) or a picomatch glob. */
export interface TokenScope {
  types: string | null;
  targets: string | null;
}

const matchers = new Map<string, (value: string) => boolean>();

function matcher(glob: string): (value: string) => boolean {
  let match = matchers.get(glob);
  if (!match) {
    match = picomatch(glob, { dot: true, strictBrackets: true });
    if (matchers.size > 1000) matchers.clear();
    matchers.set(glob, match);
  }
  return match;
}

/** Whether an operation of `type` on `target` is inside the scope. */
export function inScope(scope: TokenScope, operation: { type: string; target: string }): boolean {
  return (
    (scope.types === null || matcher(scope.types)(operation.type)) &&
    (scope.targets === null || matcher(scope.targets)(operation.target))
  );
}

export const isUnscoped = (scope: TokenScope): boolean =>
  scope.types === null && scope.targets === null;
