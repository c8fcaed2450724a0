import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createKeySet, KeyFileError, KeyFileNames, readPrivateKeyFile } from './key-files';
import { openSecret, SealedSecretError, SealingKeys } from './sealed-secrets';

describe('sealed secrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aegir-sealed-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  createKeySet(dir, ['default', 'other']);
  const keys = new SealingKeys(dir);
  const privateKey = (pool: string) =>
    readPrivateKeyFile(join(dir, KeyFileNames.sealingPrivate(pool)), 'sealing');
  const value = 'correct horse battery staple ✓';

  it('seals to a JWE that holds neither the value nor its base64, and opens with the pool key', async () => {
    const sealed = await keys.seal({ pool: 'default', param: 'password' }, value);
    assert.deepEqual(Object.keys(sealed), ['sealed']);
    assert.equal(sealed.sealed.split('.').length, 5);
    assert.ok(!sealed.sealed.includes(Buffer.from(value).toString('base64url').slice(0, 8)));
    const again = await keys.seal({ pool: 'default', param: 'password' }, value);
    assert.notEqual(again.sealed, sealed.sealed, 'a fresh key and IV every time');
    const to = { pool: 'default', param: 'password' };
    assert.equal(await openSecret(privateKey('default'), to, sealed), value);
  });

  it('refuses, naming the param and never the value, what does not belong here', async () => {
    const sealed = await keys.seal({ pool: 'other', param: 'password' }, value);
    const cases: [() => Promise<string>, RegExp][] = [
      [
        () => openSecret(privateKey('default'), { pool: 'default', param: 'password' }, sealed),
        /^params\.password is sealed for pool "other", not for pool default$/,
      ],
      [
        () => openSecret(privateKey('default'), { pool: 'other', param: 'password' }, sealed),
        /^params\.password cannot be opened with this dispatcher's sealing key/,
      ],
      [
        () => openSecret(privateKey('other'), { pool: 'other', param: 'token' }, sealed),
        /^params\.token holds a value sealed for another parameter$/,
      ],
      [
        () => openSecret(privateKey('other'), { pool: 'other', param: 'password' }, value),
        /^params\.password is a secret but was not sealed$/,
      ],
    ];
    for (const [opening, message] of cases) {
      await assert.rejects(opening, (error: Error) => {
        assert.ok(error instanceof SealedSecretError);
        assert.match(error.message, message);
        assert.ok(!error.message.includes(value));
        return true;
      });
    }
  });

  it('reads only public halves, and says which pool has no key', () => {
    assert.throws(() => keys.publicKey('missing'), KeyFileError);
    assert.throws(
      () => new SealingKeys(dir).publicKey('../relay-signing'),
      /must hold an x25519 key|cannot read/,
    );
  });
});
