import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { CONTRACT_VERSION, type DispatchMessage } from './messages';
import { expiryProblem, SIGNATURE_HEADER, signatureProblem, signMessage } from './signing';
import { decodeSignedControl, decodeSignedDispatch } from './validate';

const relay = generateKeyPairSync('ed25519');
const intruder = generateKeyPairSync('ed25519');

const dispatch: DispatchMessage = {
  v: CONTRACT_VERSION,
  kind: 'dispatch',
  operationId: randomUUID(),
  type: 'demo.hello',
  target: 'web-1',
  params: { greeting: 'hi' },
  tasks: [{ id: randomUUID(), name: 'hello' }],
  sentAt: new Date().toISOString(),
};

describe('signing', () => {
  it('signs the exact bytes it returns, with a fresh nonce and an expiry, and they verify', () => {
    const now = Date.parse('2030-01-01T00:00:00.000Z');
    const signed = signMessage({ ...dispatch, pool: 'default' }, relay.privateKey, 60_000, now);
    assert.equal(signed.message.expiresAt, '2030-01-01T00:01:00.000Z');
    assert.match(signed.message.nonce, /^[0-9a-f-]{36}$/);
    assert.deepEqual(JSON.parse(signed.body.toString()), signed.message);
    assert.match(signed.headers[SIGNATURE_HEADER], /^[A-Za-z0-9+/]{86}==$/);
    assert.equal(
      signatureProblem(signed.body, signed.headers[SIGNATURE_HEADER], relay.publicKey),
      undefined,
    );
    // the header may arrive as bytes
    const asBytes = Buffer.from(signed.headers[SIGNATURE_HEADER], 'latin1');
    assert.equal(signatureProblem(signed.body, asBytes, relay.publicKey), undefined);
    const again = signMessage({ ...dispatch, pool: 'default' }, relay.privateKey, 60_000, now);
    assert.notEqual(again.message.nonce, signed.message.nonce, 'one nonce per message');
  });

  it('refuses a body without a signature, with a malformed one, or signed by another key', () => {
    const signed = signMessage(dispatch, relay.privateKey, 60_000);
    for (const missing of [undefined, null, '']) {
      assert.equal(
        signatureProblem(signed.body, missing, relay.publicKey),
        'unsigned: no x-aegir-signature header',
      );
    }
    for (const malformed of ['abc', 42, signed.headers[SIGNATURE_HEADER].slice(1)]) {
      assert.equal(
        signatureProblem(signed.body, malformed, relay.publicKey),
        'bad signature: x-aegir-signature is not a base64 Ed25519 signature',
      );
    }
    const forged = signMessage(dispatch, intruder.privateKey, 60_000);
    assert.equal(
      signatureProblem(forged.body, forged.headers[SIGNATURE_HEADER], relay.publicKey),
      'bad signature: the body was altered, or not signed by the relay',
    );
  });

  it('refuses a body altered after signing: another target, params, pool, one byte', () => {
    const signed = signMessage({ ...dispatch, pool: 'default' }, relay.privateKey, 60_000);
    const signature = signed.headers[SIGNATURE_HEADER];
    const swaps = [
      { ...signed.message, target: 'db-1' },
      { ...signed.message, params: { greeting: 'rm -rf /' } },
      { ...signed.message, pool: 'other' },
      { ...signed.message, expiresAt: '2999-01-01T00:00:00.000Z' },
    ];
    for (const swapped of swaps) {
      assert.equal(
        signatureProblem(Buffer.from(JSON.stringify(swapped)), signature, relay.publicKey),
        'bad signature: the body was altered, or not signed by the relay',
      );
    }
    const flipped = Buffer.from(signed.body);
    flipped[flipped.length - 2] ^= 1;
    assert.match(signatureProblem(flipped, signature, relay.publicKey) ?? '', /^bad signature/);
    // the same JSON, spaced differently, is other bytes: only the exact bytes verify
    const respaced = Buffer.from(JSON.stringify(signed.message, null, 1));
    assert.match(signatureProblem(respaced, signature, relay.publicKey) ?? '', /^bad signature/);
  });

  it('says when a message has expired', () => {
    const signed = signMessage(dispatch, relay.privateKey, 1000, 0);
    assert.equal(expiryProblem(signed.message, 999), undefined);
    assert.equal(expiryProblem(signed.message, 1000), 'expired at 1970-01-01T00:00:01.000Z');
  });

  it('the signed schemas require the nonce, the expiry and the addressee', () => {
    const signed = signMessage({ ...dispatch, pool: 'default' }, relay.privateKey, 60_000);
    assert.equal(decodeSignedDispatch(signed.body).ok, true);
    const noPool = { ...signed.message, pool: undefined }; // JSON leaves it out
    assert.deepEqual(decodeSignedDispatch(Buffer.from(JSON.stringify(noPool))), {
      ok: false,
      reason: "invalid dispatch message: (message) must have required property 'pool'",
    });
    assert.deepEqual(decodeSignedDispatch(Buffer.from(JSON.stringify(dispatch))), {
      ok: false,
      reason: "invalid dispatch message: (message) must have required property 'nonce'",
    });
    const answer = signMessage(
      { v: 1, kind: 'claim-result', operationId: dispatch.operationId, granted: true },
      relay.privateKey,
      60_000,
    );
    assert.deepEqual(decodeSignedControl(answer.body), {
      ok: false,
      reason: "invalid claim-result message: (message) must have required property 'dispatcherId'",
    });
  });
});
