import { Controller, Get } from '@nestjs/common';
import { Catalogue, type CatalogueTask, type RetryPolicy } from '@app/catalogue';
import { Access } from './access/access.decorators';

export interface CatalogueTypeView {
  name: string;
  description: string;
  pool: string;
  /** May run alongside other operations on the same target. */
  parallel: boolean;
  /** Automatic retries of an operation that ended `lost`. */
  retry: RetryPolicy;
  params: Record<string, unknown>;
  tasks: Pick<CatalogueTask, 'name' | 'runner' | 'timeoutSeconds'>[];
}

/** What a client may ask for. How each task runs (argv, playbook) stays on the back end. */
@Controller('catalogue')
export class CatalogueController {
  constructor(private readonly catalogue: Catalogue) {}

  @Get()
  @Access({ role: 'viewer', action: 'catalogue.read' })
  list(): { types: CatalogueTypeView[] } {
    return {
      types: this.catalogue.types().map((type) => ({
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
}
