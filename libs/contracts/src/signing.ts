import { randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { SignedFields } from './messages';
import { encodeMessage } from './validate';

/**
 * The signed envelope: the relay signs the exact bytes of every dispatch, claim answer and
 * cancel with its Ed25519 key, and the signature travels beside the body in this header
 * (base64). Dispatchers check it against the relay's public key before they parse the body.
 */
export const SIGNATURE_HEADER = 'x-aegir-signature';

/** An Ed25519 signature is 64 bytes: 88 base64 characters, the last two `=`. */
const SIGNATURE_BASE64 = /^[A-Za-z0-9+/]{86}==$/;

/** A message ready to publish: the bytes that were signed, and the header that carries the signature. */
export interface SignedMessage<T> {
  message: T & SignedFields;
  body: Buffer;
  headers: { [SIGNATURE_HEADER]: string };
}

/**
 * Gives a message a fresh nonce and an expiry `ttlMs` from `now`, encodes it and signs the
 * bytes. Whatever the message names (its pool, its dispatcher) is inside what is signed.
 */
export function signMessage<T extends object>(
  message: T,
  privateKey: KeyObject,
  ttlMs: number,
  now: number = Date.now(),
): SignedMessage<T> {
  const signed = {
    ...message,
    nonce: randomUUID(),
    expiresAt: new Date(now + ttlMs).toISOString(),
  };
  const body = encodeMessage(signed);
  const signature = sign(null, body, privateKey).toString('base64');
  return { message: signed, body, headers: { [SIGNATURE_HEADER]: signature } };
}

/**
 * Why a body's signature is refused, or undefined when the relay's key signed exactly these
 * bytes. `signature` is the header as it arrived (amqplib gives a string, or bytes).
 */
export function signatureProblem(
  body: Buffer,
  signature: unknown,
  publicKey: KeyObject,
): string | undefined {
  const text = Buffer.isBuffer(signature) ? signature.toString('latin1') : signature;
  if (text === undefined || text === null || text === '') {
    return `unsigned: no ${SIGNATURE_HEADER} header`;
  }
  if (typeof text !== 'string' || !SIGNATURE_BASE64.test(text)) {
    return `bad signature: ${SIGNATURE_HEADER} is not a base64 Ed25519 signature`;
  }
  let valid: boolean;
  try {
    valid = verify(null, body, publicKey, Buffer.from(text, 'base64'));
  } catch {
    valid = false;
  }
  return valid ? undefined : 'bad signature: the body was altered, or not signed by the relay';
}

/** Why a signed message is no longer valid at `now`, or undefined. */
export function expiryProblem(message: SignedFields, now: number = Date.now()): string | undefined {
  const expiresAt = Date.parse(message.expiresAt);
  return expiresAt > now ? undefined : `expired at ${message.expiresAt}`;
}
