/**
 * A secret parameter as the database, the relay and the broker hold it: never the value,
 * only `{ "sealed": "<JWE compact serialization>" }`, encrypted by the api to the public
 * sealing key of the operation's pool. Only that pool's dispatchers can open it.
 */
export interface SealedValue {
  sealed: string;
}

/** What clients are shown in place of a secret parameter. */
export const SECRET_MASK = '********';

/** Five base64url parts: protected header, encrypted key, IV, ciphertext, tag. */
export const SEALED_JWE_PATTERN =
  /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Room for a secret of MAX_SECRET_LENGTH characters (4 bytes each in UTF-8), sealed. */
export const MAX_SEALED_LENGTH = 32768;

/** The JSON Schema of a sealed value, wherever one is validated. */
export const sealedValueSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sealed'],
  properties: {
    sealed: { type: 'string', maxLength: MAX_SEALED_LENGTH, pattern: SEALED_JWE_PATTERN.source },
  },
} as const;

export function isSealedValue(value: unknown): value is SealedValue {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  const sealed = (value as { sealed?: unknown }).sealed;
  return (
    keys.length === 1 &&
    keys[0] === 'sealed' &&
    typeof sealed === 'string' &&
    sealed.length <= MAX_SEALED_LENGTH &&
    SEALED_JWE_PATTERN.test(sealed)
  );
}

/** Params as clients see them: every sealed value (secret params sit at top level) masked. */
export function maskSealedParams(params: Record<string, unknown>): Record<string, unknown> {
  let masked: Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(params)) {
    if (!isSealedValue(value)) continue;
    masked ??= { ...params };
    masked[name] = SECRET_MASK;
  }
  return masked ?? params;
}
