import { Injectable } from '@nestjs/common';
import { Catalogue, poolsWithSecrets, sealPlan, type OperationPlan } from '@app/catalogue';
import { ConfigurationError, KeyFileError, SealingKeys } from '@app/platform';
import { ApiSettings } from '../api.settings';

/**
 * Seals the secret params of a plan to its pool's public key before the plan is stored. The
 * keys of every pool with secret params are read at start-up: a missing or wrong one stops
 * the api then, not the first request.
 */
@Injectable()
export class OperationSealer {
  private readonly keys?: SealingKeys;

  constructor(
    private readonly catalogue: Catalogue,
    settings: ApiSettings,
  ) {
    const pools = poolsWithSecrets(catalogue);
    if (pools.length === 0) return;
    if (!settings.sealingKeysDir) {
      throw new ConfigurationError(
        `API_SEALING_KEYS_DIR must name the directory of the sealing-<pool>.pub files (aegir keys:create): the catalogue has secret parameters in pools ${pools.join(', ')}`,
      );
    }
    const keys = new SealingKeys(settings.sealingKeysDir);
    for (const pool of pools) {
      try {
        keys.publicKey(pool);
      } catch (error) {
        if (!(error instanceof KeyFileError)) throw error;
        throw new ConfigurationError(`API_SEALING_KEYS_DIR: ${error.message}`);
      }
    }
    this.keys = keys;
  }

  seal(plan: OperationPlan): Promise<OperationPlan> {
    return sealPlan(this.catalogue, plan, () => this.keys!);
  }
}
