import { isSealedValue, type SealedValue } from '@app/contracts';
import type { Catalogue } from './catalogue';
import type { OperationPlan } from './types';

/** Seals one secret value to a pool's public key (`SealingKeys` of @app/platform). */
export interface Sealer {
  seal(to: { pool: string; param: string }, value: string): Promise<SealedValue>;
}

/** The pools whose types have secret params: the ones the api must hold a sealing key for. */
export function poolsWithSecrets(catalogue: Catalogue): string[] {
  const pools = catalogue
    .types()
    .filter((type) => type.secretParams.length > 0)
    .map((type) => type.pool);
  return [...new Set(pools)].sort();
}

/**
 * A plan from `Catalogue.plan()` with every secret param sealed to its pool's key: what may
 * be stored. A plan with no secret param is returned as it is, without a sealer.
 */
export async function sealPlan(
  catalogue: Catalogue,
  plan: OperationPlan,
  sealer: () => Sealer,
): Promise<OperationPlan> {
  const secrets = catalogue.get(plan.type)?.secretParams ?? [];
  const present = secrets.filter((name) => plan.params[name] !== undefined);
  if (present.length === 0) return plan;
  const params = { ...plan.params };
  for (const name of present) {
    const value = params[name];
    // plan() validated it as a string; anything else here is a caller's mistake
    if (typeof value !== 'string' || isSealedValue(value)) {
      throw new TypeError(`params.${name} must be given in clear to be sealed`);
    }
    params[name] = await sealer().seal({ pool: plan.pool, param: name }, value);
  }
  return { ...plan, params };
}
