import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { isSealedValue, type SealedValue } from '@app/contracts';
import { KeyFileNames, readPublicKeyFile } from './key-files';

/**
 * JWE (RFC 7516) with jose: ECDH-ES over the pool's X25519 key wraps a fresh AES-256 key
 * (A256KW), which encrypts the value with AES-256-GCM. The protected header, which the tag
 * authenticates, names the pool and the parameter: a value sealed for another pool, or moved
 * to another parameter, does not open.
 */
const ALG = 'ECDH-ES+A256KW';
const ENC = 'A256GCM';

/** Where a sealed value belongs. */
export interface SealedFor {
  pool: string;
  param: string;
}

/** Why a sealed value cannot be opened. The message names the param, never the value. */
export class SealedSecretError extends Error {
  override name = 'SealedSecretError';
}

export async function sealSecret(
  publicKey: KeyObject,
  to: SealedFor,
  value: string,
): Promise<SealedValue> {
  const sealed = await new CompactEncrypt(new TextEncoder().encode(value))
    .setProtectedHeader({ alg: ALG, enc: ENC, kid: `sealing-${to.pool}`, param: to.param })
    .encrypt(publicKey);
  return { sealed };
}

export async function openSecret(
  privateKey: KeyObject,
  expected: SealedFor,
  value: unknown,
): Promise<string> {
  const field = `params.${expected.param}`;
  if (!isSealedValue(value)) {
    throw new SealedSecretError(`${field} is a secret but was not sealed`);
  }
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(value.sealed);
  } catch {
    throw new SealedSecretError(`${field} cannot be opened: its header is not valid`);
  }
  const kid = `sealing-${expected.pool}`;
  if (header.kid !== kid) {
    throw new SealedSecretError(
      `${field} is sealed for ${describeKid(header.kid)}, not for pool ${expected.pool}`,
    );
  }
  if (header.param !== expected.param) {
    throw new SealedSecretError(`${field} holds a value sealed for another parameter`);
  }
  try {
    const { plaintext } = await compactDecrypt(value.sealed, privateKey, {
      keyManagementAlgorithms: [ALG],
      contentEncryptionAlgorithms: [ENC],
    });
    return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
  } catch {
    throw new SealedSecretError(
      `${field} cannot be opened with this dispatcher's sealing key (sealed with another key, or altered)`,
    );
  }
}

function describeKid(kid: unknown): string {
  const match = typeof kid === 'string' ? /^sealing-(.+)$/.exec(kid) : null;
  return match ? `pool ${JSON.stringify(match[1])}` : 'an unknown key';
}

/**
 * The public sealing keys of a directory written by `aegir keys:create`
 * (`sealing-<pool>.pub`), each read once on first use.
 */
export class SealingKeys {
  private readonly keys = new Map<string, KeyObject>();

  constructor(readonly dir: string) {}

  /** The pool's public key; a KeyFileError when its file is missing or wrong. */
  publicKey(pool: string): KeyObject {
    let key = this.keys.get(pool);
    if (!key) {
      key = readPublicKeyFile(join(this.dir, KeyFileNames.sealingPublic(pool)), 'sealing');
      this.keys.set(pool, key);
    }
    return key;
  }

  seal(to: SealedFor, value: string): Promise<SealedValue> {
    return sealSecret(this.publicKey(to.pool), to, value);
  }
}
