import { Inject, Injectable } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import {
  signMessage,
  type CancelMessage,
  type ClaimMessage,
  type ClaimResultMessage,
  type DispatchMessage,
  type SignedMessage,
} from '@app/contracts';
import { ConfigurationError, describeError, readPrivateKeyFile } from '@app/platform';
import { RelaySettings } from './relay.settings';

/** The relay's Ed25519 private key, read once at start-up (see readSigningKey). */
export const RELAY_SIGNING_KEY = Symbol('RELAY_SIGNING_KEY');

/** Reads the signing key; a missing or unfit file stops start-up naming the variable. */
export function readSigningKey(settings: RelaySettings): KeyObject {
  try {
    return readPrivateKeyFile(settings.signingKeyFile, 'signing');
  } catch (error) {
    throw new ConfigurationError(`RELAY_SIGNING_KEY_FILE: ${describeError(error)}`);
  }
}

/**
 * Signs what the relay tells dispatchers, at the moment it is published: each message gets
 * its own nonce and expiry, and names whom it is for, inside the signed bytes. Only the
 * relay holds the key.
 */
@Injectable()
export class MessageSigner {
  constructor(
    @Inject(RELAY_SIGNING_KEY) private readonly key: KeyObject,
    private readonly config: RelaySettings,
  ) {}

  /** A dispatch for `pool`, valid for RELAY_DISPATCH_TTL_MS: it may wait long for a dispatcher. */
  dispatch(message: DispatchMessage, pool: string): SignedMessage<DispatchMessage> {
    return signMessage({ ...message, pool }, this.key, this.config.dispatchTtlMs);
  }

  cancel(message: CancelMessage): SignedMessage<CancelMessage> {
    return signMessage(message, this.key, this.config.controlTtlMs);
  }

  /** The answer to one claim, for the dispatcher that sent it only. */
  claimResult(result: ClaimResultMessage, claim: ClaimMessage): SignedMessage<ClaimResultMessage> {
    return signMessage(
      {
        ...result,
        dispatcherId: claim.dispatcherId,
        ...(claim.claimId === undefined ? {} : { claimId: claim.claimId }),
      },
      this.key,
      this.config.controlTtlMs,
    );
  }
}
