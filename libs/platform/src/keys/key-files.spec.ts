import assert from 'node:assert/strict';
import { sign, verify } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  createKeySet,
  KeyFileError,
  KeyFileNames,
  readPrivateKeyFile,
  readPublicKeyFile,
} from './key-files';

describe('key files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aegir-keys-spec-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const files = createKeySet(dir, ['web', 'default', 'web']);

  it('writes a signing pair and one sealing pair per pool, private halves 0600', () => {
    assert.deepEqual(files.map((file) => file.path.slice(dir.length + 1)).sort(), [
      'relay-signing.key',
      'relay-signing.pub',
      'sealing-default.key',
      'sealing-default.pub',
      'sealing-web.key',
      'sealing-web.pub',
    ]);
    for (const file of files) {
      assert.equal(statSync(file.path).mode & 0o777, file.private ? 0o600 : 0o644, file.path);
    }
  });

  it('reads back a pair that signs and verifies', () => {
    const privateKey = readPrivateKeyFile(join(dir, KeyFileNames.signingPrivate), 'signing');
    const publicKey = readPublicKeyFile(join(dir, KeyFileNames.signingPublic), 'signing');
    const signature = sign(null, Buffer.from('dispatch'), privateKey);
    assert.ok(verify(null, Buffer.from('dispatch'), publicKey, signature));
    assert.equal(
      readPrivateKeyFile(join(dir, KeyFileNames.sealingPrivate('web')), 'sealing')
        .asymmetricKeyType,
      'x25519',
    );
  });

  it('never overwrites a key', () => {
    const before = readFileSync(join(dir, KeyFileNames.signingPrivate), 'utf8');
    assert.throws(() => createKeySet(dir, []), /relay-signing\.key exists already/);
    assert.equal(readFileSync(join(dir, KeyFileNames.signingPrivate), 'utf8'), before);
  });

  it('refuses a private key others can read, naming the file and the fix', () => {
    const path = join(dir, KeyFileNames.sealingPrivate('default'));
    chmodSync(path, 0o640);
    try {
      assert.throws(
        () => readPrivateKeyFile(path, 'sealing'),
        (error: Error) =>
          error instanceof KeyFileError && error.message.includes(`chmod 600 ${path}`),
      );
    } finally {
      chmodSync(path, 0o600);
    }
  });

  it('refuses a symlink, a key of the other purpose and a file that is no key', () => {
    const link = join(dir, 'link.key');
    symlinkSync(join(dir, KeyFileNames.signingPrivate), link);
    assert.throws(() => readPrivateKeyFile(link, 'signing'), /must be a regular file/);
    assert.throws(
      () => readPublicKeyFile(join(dir, KeyFileNames.sealingPublic('web')), 'signing'),
      /must hold an ed25519 key/,
    );
    assert.throws(
      () => readPublicKeyFile(join(dir, KeyFileNames.signingPrivate), 'signing'),
      /holds a private key: give this component only the public half/,
    );
  });
});
