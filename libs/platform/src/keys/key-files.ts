import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { constants, lstatSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The two key pairs the system runs on: the relay's Ed25519 signing key (dispatchers check
 * every dispatch, claim answer and cancel with its public half) and one X25519 sealing key per
 * pool (the api seals secret parameters to the public half; only that pool's dispatchers hold
 * the private one).
 */
export type KeyPurpose = 'signing' | 'sealing';

const ALGORITHM: Record<KeyPurpose, 'ed25519' | 'x25519'> = {
  signing: 'ed25519',
  sealing: 'x25519',
};

export const KeyFileNames = {
  signingPrivate: 'relay-signing.key',
  signingPublic: 'relay-signing.pub',
  sealingPrivate: (pool: string): string => `sealing-${pool}.key`,
  sealingPublic: (pool: string): string => `sealing-${pool}.pub`,
} as const;

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

export interface CreatedKeyFile {
  path: string;
  /** Which component must hold it. */
  holder: string;
  private: boolean;
}

/**
 * Writes a new signing key pair and a sealing key pair per pool into `dir` (private halves
 * 0600, public 0644). Never overwrites: an existing file is a KeyFileError, so rotating a key
 * is a deliberate act (see the README's Security section).
 */
export function createKeySet(dir: string, pools: readonly string[]): CreatedKeyFile[] {
  const files: CreatedKeyFile[] = [];
  const writePair = (
    purpose: KeyPurpose,
    privateName: string,
    publicName: string,
    holders: [string, string],
  ) => {
    const pair = generateKeyPairSync(ALGORITHM[purpose] as 'ed25519');
    const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    files.push(writeNewFile(join(dir, privateName), privatePem, 0o600, holders[0], true));
    files.push(writeNewFile(join(dir, publicName), publicPem, 0o644, holders[1], false));
  };
  writePair('signing', KeyFileNames.signingPrivate, KeyFileNames.signingPublic, [
    'relay',
    'dispatchers',
  ]);
  for (const pool of [...new Set(pools)].sort()) {
    writePair('sealing', KeyFileNames.sealingPrivate(pool), KeyFileNames.sealingPublic(pool), [
      `dispatchers of pool ${pool}`,
      'api',
    ]);
  }
  return files;
}

function writeNewFile(
  path: string,
  text: string,
  mode: number,
  holder: string,
  isPrivate: boolean,
): CreatedKeyFile {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KeyFileError(
      code === 'EEXIST'
        ? `${path} exists already: remove it first to replace that key`
        : `cannot create ${path}: ${code}`,
    );
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return { path, holder, private: isPrivate };
}

/**
 * Reads a private key of this purpose. The file must be a regular file of this user's, not a
 * symlink, readable by no one else: a key others can read is no longer this component's own.
 */
export function readPrivateKeyFile(path: string, purpose: KeyPurpose): KeyObject {
  const stat = statKeyFile(path);
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) {
    throw new KeyFileError(`${path} must be owned by the user running this process`);
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new KeyFileError(`${path} must be readable by its owner only (chmod 600 ${path})`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path));
  } catch {
    throw new KeyFileError(`${path} is not a PEM private key`);
  }
  return expectAlgorithm(key, path, purpose);
}

/** Reads a public key of this purpose (PEM, SPKI). */
export function readPublicKeyFile(path: string, purpose: KeyPurpose): KeyObject {
  statKeyFile(path);
  const pem = readFileSync(path, 'utf8');
  // createPublicKey takes a private key too; a private half where a public one belongs has leaked.
  if (pem.includes('PRIVATE KEY')) {
    throw new KeyFileError(`${path} holds a private key: give this component only the public half`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new KeyFileError(`${path} is not a PEM public key`);
  }
  return expectAlgorithm(key, path, purpose);
}

function statKeyFile(path: string) {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (error) {
    throw new KeyFileError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
  if (!stat.isFile())
    throw new KeyFileError(`${path} must be a regular file, not a link or directory`);
  return stat;
}

function expectAlgorithm(key: KeyObject, path: string, purpose: KeyPurpose): KeyObject {
  if (key.asymmetricKeyType !== ALGORITHM[purpose]) {
    throw new KeyFileError(`${path} must hold an ${ALGORITHM[purpose]} key (the ${purpose} key)`);
  }
  return key;
}
