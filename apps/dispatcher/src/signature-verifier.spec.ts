import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ConsumeMessage } from 'amqplib';
import { CONTRACT_VERSION, signMessage, type DispatchMessage } from '@app/contracts';
import type { DispatcherSettings } from './dispatcher.settings';
import { NonceMemory } from './nonce-memory';
import { SignatureVerifier } from './signature-verifier';

const relay = generateKeyPairSync('ed25519');
const config = { id: 'd-1', pool: 'default' } as DispatcherSettings;

function dispatch(): DispatchMessage {
  return {
    v: CONTRACT_VERSION,
    kind: 'dispatch',
    operationId: randomUUID(),
    type: 'demo.hello',
    target: 'web-1',
    params: {},
    tasks: [{ id: randomUUID(), name: 'hello' }],
    sentAt: new Date().toISOString(),
  };
}

/** A delivery as amqplib gives it: the body, the headers, the broker's redelivered flag. */
function delivery(body: Buffer, headers: Record<string, unknown>, redelivered = false) {
  return {
    content: body,
    fields: { redelivered },
    properties: { headers },
  } as unknown as ConsumeMessage;
}

function signed(message: object, key: KeyObject = relay.privateKey, ttlMs = 60_000) {
  const { body, headers } = signMessage(message, key, ttlMs);
  return { body, raw: delivery(body, headers), headers };
}

describe('SignatureVerifier', () => {
  const verifier = new SignatureVerifier(relay.publicKey, config);

  it('takes a dispatch the relay signed for this pool, once', () => {
    const { body, raw, headers } = signed({ ...dispatch(), pool: 'default' });
    const first = verifier.dispatch(body, raw);
    assert.equal(first.ok, true);
    const copy = verifier.dispatch(body, delivery(body, headers));
    assert.equal(copy.ok, false);
    assert.match(
      copy.ok ? '' : copy.reason,
      /^dispatch refused: replayed: nonce [0-9a-f-]+ was seen already$/,
    );
    // the broker's own redelivery of that delivery (after a reconnect) is not a copy
    assert.equal(verifier.dispatch(body, delivery(body, headers, true)).ok, true);
  });

  it('refuses one for another pool, one expired, one signed with another key', () => {
    const other = signed({ ...dispatch(), pool: 'gpu' });
    assert.deepEqual(verifier.dispatch(other.body, other.raw), {
      ok: false,
      reason: 'dispatch refused: for pool gpu, not default',
    });
    const old = signed({ ...dispatch(), pool: 'default' }, relay.privateKey, -1);
    const expired = verifier.dispatch(old.body, old.raw);
    assert.match(expired.ok ? '' : expired.reason, /^dispatch refused: expired at /);
    const forged = signed(
      { ...dispatch(), pool: 'default' },
      generateKeyPairSync('ed25519').privateKey,
    );
    assert.deepEqual(verifier.dispatch(forged.body, forged.raw), {
      ok: false,
      reason: 'bad signature: the body was altered, or not signed by the relay',
    });
  });

  it('checks the signature before it parses the body', () => {
    assert.deepEqual(verifier.dispatch(Buffer.from('not json'), delivery(Buffer.from(''), {})), {
      ok: false,
      reason: 'unsigned: no x-aegir-signature header',
    });
  });

  it('takes a claim answer addressed to this dispatcher only', () => {
    const answer = (dispatcherId: string) =>
      signed({
        v: CONTRACT_VERSION,
        kind: 'claim-result',
        operationId: randomUUID(),
        granted: true,
        dispatcherId,
        claimId: randomUUID(),
      });
    const mine = answer('d-1');
    assert.equal(verifier.control(mine.body, mine.raw).ok, true);
    const theirs = answer('d-2');
    assert.deepEqual(verifier.control(theirs.body, theirs.raw), {
      ok: false,
      reason: 'claim-result refused: for dispatcher d-2, not d-1',
    });
  });
});

describe('NonceMemory', () => {
  it('forgets a nonce once its message has expired, and keeps at most its limit', () => {
    const memory = new NonceMemory(3);
    memory.remember('a', 100, 0);
    assert.equal(memory.has('a', 99), true);
    assert.equal(memory.has('a', 100), false, 'expired: a replay is refused as expired anyway');
    for (const nonce of ['b', 'c', 'd', 'e']) memory.remember(nonce, 1000, 200);
    assert.equal(memory.size, 3);
    assert.equal(memory.has('b', 200), false, 'the oldest went first');
    assert.equal(memory.has('e', 200), true);
  });
});
