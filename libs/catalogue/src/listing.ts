import type { Catalogue } from './catalogue';
import type { CatalogueTask, RetryPolicy } from './types';

/** A task as a client sees it: how it runs (argv, playbook) stays on the back end. */
export type ListedTask = Pick<CatalogueTask, 'name' | 'runner' | 'timeoutSeconds'>;

/** An operation type as GET /catalogue and `aegir catalogue:list --json` show it. */
export interface ListedType {
  name: string;
  description: string;
  pool: string;
  /** May run alongside other operations on the same target. */
  parallel: boolean;
  /** Automatic retries of an operation that ended `lost`. */
  retry: RetryPolicy;
  /** The JSON Schema `params` must fit (`required`, `enum`, `secret: true` as written). */
  params: Record<string, unknown>;
  tasks: ListedTask[];
}

export interface CatalogueListing {
  types: ListedType[];
}

/**
 * What a client may ask for, the one mapping the api (GET /catalogue) and the CLI
 * (`catalogue:list`, local) share, so that both print the same JSON for the same catalogue.
 */
export function describeCatalogue(catalogue: Catalogue): CatalogueListing {
  return {
    types: catalogue.types().map((type) => ({
      name: type.name,
      description: type.description,
      pool: type.pool,
      parallel: type.parallel,
      retry: { ...type.retry },
      params: type.paramsSchema,
      tasks: type.tasks.map((task) => ({
        name: task.name,
        runner: task.runner,
        timeoutSeconds: task.timeoutSeconds,
      })),
    })),
  };
}
