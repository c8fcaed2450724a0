import type { KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { OperationType } from '@app/catalogue';
import type { DispatchMessage } from '@app/contracts';
import { ConfigurationError, KeyFileError, openSecret, readPrivateKeyFile } from '@app/platform';
import { DispatcherSettings } from './dispatcher.settings';

/**
 * Opens the secret params of a dispatch with the pool's private sealing key, read once at
 * start-up (a missing or unsafe key file stops the dispatcher). A value sealed for another
 * pool or parameter, or altered, is refused with a SealedSecretError naming the param.
 */
@Injectable()
export class SecretOpener {
  private readonly key: KeyObject;
  private readonly pool: string;

  constructor(settings: DispatcherSettings) {
    this.pool = settings.pool;
    try {
      this.key = readPrivateKeyFile(settings.sealingKeyFile, 'sealing');
    } catch (error) {
      if (!(error instanceof KeyFileError)) throw error;
      throw new ConfigurationError(`DISPATCHER_SEALING_KEY_FILE: ${error.message}`);
    }
  }

  /** The clear value of every secret param the message carries; empty when the type has none. */
  async open(
    message: DispatchMessage,
    type: Pick<OperationType, 'secretParams'>,
  ): Promise<Record<string, string>> {
    const opened: Record<string, string> = {};
    for (const param of type.secretParams) {
      const value = message.params[param];
      if (value === undefined) continue;
      opened[param] = await openSecret(this.key, { pool: this.pool, param }, value);
    }
    return opened;
  }
}
