import { Inject, Injectable } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';
import {
  decodeSignedControl,
  decodeSignedDispatch,
  expiryProblem,
  SIGNATURE_HEADER,
  signatureProblem,
  type Decoded,
  type SignedControlMessage,
  type SignedDispatchMessage,
  type SignedFields,
} from '@app/contracts';
import { ConfigurationError, describeError, readPublicKeyFile } from '@app/platform';
import { DispatcherSettings } from './dispatcher.settings';
import { NonceMemory } from './nonce-memory';

/** The relay's Ed25519 public key, read once at start-up (see readVerifyingKey). */
export const RELAY_VERIFYING_KEY = Symbol('RELAY_VERIFYING_KEY');

/** Nonces remembered per queue: a few MB at most. */
const NONCES_KEPT = 50_000;

/** Reads the relay's public key; a missing or unfit file stops start-up naming the variable. */
export function readVerifyingKey(settings: DispatcherSettings): KeyObject {
  try {
    return readPublicKeyFile(settings.signingPublicKeyFile, 'signing');
  } catch (error) {
    throw new ConfigurationError(`DISPATCHER_SIGNING_PUBLIC_KEY_FILE: ${describeError(error)}`);
  }
}

type Decoder<T> = (body: Buffer, raw: ConsumeMessage) => Decoded<T>;

/**
 * Checks what the relay sends before anything reads it: the signature over the exact bytes
 * (before the body is parsed), then that the message is for this pool or this dispatcher,
 * not expired, and not one seen before. A refusal is the reason the transport dead-letters
 * the message with, and no handler ever sees it.
 */
@Injectable()
export class SignatureVerifier {
  private readonly dispatchNonces = new NonceMemory(NONCES_KEPT);
  private readonly controlNonces = new NonceMemory(NONCES_KEPT);

  constructor(
    @Inject(RELAY_VERIFYING_KEY) private readonly key: KeyObject,
    private readonly config: DispatcherSettings,
  ) {}

  /** For the pool queue. */
  readonly dispatch: Decoder<SignedDispatchMessage> = (body, raw) =>
    this.check(body, raw, decodeSignedDispatch, this.dispatchNonces, (message) =>
      message.pool === this.config.pool
        ? undefined
        : `for pool ${message.pool}, not ${this.config.pool}`,
    );

  /** For the control queue: cancels (to every dispatcher) and claim answers (to one). */
  readonly control: Decoder<SignedControlMessage> = (body, raw) =>
    this.check(body, raw, decodeSignedControl, this.controlNonces, (message) =>
      message.kind === 'claim-result' && message.dispatcherId !== this.config.id
        ? `for dispatcher ${message.dispatcherId}, not ${this.config.id}`
        : undefined,
    );

  private check<T extends SignedFields & { kind: string }>(
    body: Buffer,
    raw: ConsumeMessage,
    decode: (body: Buffer) => Decoded<T>,
    nonces: NonceMemory,
    addressee: (message: T) => string | undefined,
  ): Decoded<T> {
    const unsigned = signatureProblem(body, raw.properties.headers?.[SIGNATURE_HEADER], this.key);
    if (unsigned) return { ok: false, reason: unsigned };
    const decoded = decode(body);
    if (!decoded.ok) return decoded;
    const message = decoded.message;
    const now = Date.now();
    const refused =
      addressee(message) ??
      expiryProblem(message, now) ??
      // the broker's own redelivery (after a reconnect) is the same delivery again, not a copy
      (nonces.has(message.nonce, now) && !raw.fields.redelivered
        ? `replayed: nonce ${message.nonce} was seen already`
        : undefined);
    if (refused) return { ok: false, reason: `${message.kind} refused: ${refused}` };
    nonces.remember(message.nonce, Date.parse(message.expiresAt), now);
    return decoded;
  }
}
