import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeySet, KeyFileNames } from '@app/platform';

/** The key files of `aegir keys:create` in a temp dir of their own, and the settings naming them. */
export interface TestKeys {
  /** The directory: API_SEALING_KEYS_DIR of the api and the console. */
  readonly dir: string;
  /** The relay's private signing key (RELAY_SIGNING_KEY_FILE). */
  readonly signingKey: string;
  /** Its public half (DISPATCHER_SIGNING_PUBLIC_KEY_FILE). */
  readonly signingPublicKey: string;
  /** A pool's private sealing key (DISPATCHER_SEALING_KEY_FILE). */
  sealingKey(pool: string): string;
  /** A pool's public sealing key, which the api seals to. */
  sealingPublicKey(pool: string): string;
  /** The key settings of the api (and of the console, which seals as the api does). */
  apiEnv(): { API_SEALING_KEYS_DIR: string };
  relayEnv(): { RELAY_SIGNING_KEY_FILE: string };
  /** The key settings of a dispatcher of `pool`. */
  dispatcherEnv(pool?: string): {
    DISPATCHER_SIGNING_PUBLIC_KEY_FILE: string;
    DISPATCHER_SEALING_KEY_FILE: string;
  };
  /** Removes the directory and every key in it. */
  remove(): void;
}

/** A signing key pair and a sealing key pair per pool, as `aegir keys:create` writes them. */
export function createTestKeys(pools: readonly string[] = ['default']): TestKeys {
  const dir = mkdtempSync(join(tmpdir(), 'aegir-test-keys-'));
  try {
    createKeySet(dir, pools);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const signingKey = join(dir, KeyFileNames.signingPrivate);
  const signingPublicKey = join(dir, KeyFileNames.signingPublic);
  const sealingKey = (pool: string) => join(dir, KeyFileNames.sealingPrivate(pool));
  return {
    dir,
    signingKey,
    signingPublicKey,
    sealingKey,
    sealingPublicKey: (pool) => join(dir, KeyFileNames.sealingPublic(pool)),
    apiEnv: () => ({ API_SEALING_KEYS_DIR: dir }),
    relayEnv: () => ({ RELAY_SIGNING_KEY_FILE: signingKey }),
    dispatcherEnv: (pool = 'default') => ({
      DISPATCHER_SIGNING_PUBLIC_KEY_FILE: signingPublicKey,
      DISPATCHER_SEALING_KEY_FILE: sealingKey(pool),
    }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
