import { Injectable } from '@nestjs/common';
import { sealPlan, type OperationPlan } from '@app/catalogue';
import { KeyFileError, PathVariable, SealingKeys } from '@app/platform';
import { CliError } from './cli-error';
import { ConsoleCatalogue } from './console-catalogue';

/** The api's sealing keys, for `op:create` of a type with secret params. */
export class ConsoleSealingSettings {
  @PathVariable('API_SEALING_KEYS_DIR')
  readonly sealingKeysDir: string | undefined = undefined;
}

/** Seals a plan's secret params as the api does; the keys are read only when one needs them. */
@Injectable()
export class ConsoleSealer {
  private keys?: SealingKeys;

  constructor(
    private readonly catalogue: ConsoleCatalogue,
    private readonly settings: ConsoleSealingSettings,
  ) {}

  async seal(plan: OperationPlan): Promise<OperationPlan> {
    try {
      return await sealPlan(this.catalogue.get(), plan, () => this.sealingKeys());
    } catch (error) {
      if (error instanceof KeyFileError)
        throw new CliError(`API_SEALING_KEYS_DIR: ${error.message}`);
      throw error;
    }
  }

  private sealingKeys(): SealingKeys {
    if (!this.settings.sealingKeysDir) {
      throw new CliError(
        `this type has secret parameters: set API_SEALING_KEYS_DIR to the directory of the sealing-<pool>.pub files (aegir keys:create)`,
      );
    }
    this.keys ??= new SealingKeys(this.settings.sealingKeysDir);
    return this.keys;
  }
}
