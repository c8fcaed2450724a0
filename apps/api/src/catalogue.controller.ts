import { Controller, Get } from '@nestjs/common';
import { Catalogue, type CatalogueTask } from '@app/catalogue';

export interface CatalogueTypeView {
  name: string;
  description: string;
  pool: string;
  params: Record<string, unknown>;
  tasks: Pick<CatalogueTask, 'name' | 'runner' | 'timeoutSeconds'>[];
}

/** What a client may ask for. How each task runs (argv, playbook) stays on the back end. */
@Controller('catalogue')
export class CatalogueController {
  constructor(private readonly catalogue: Catalogue) {}

  @Get()
  list(): { types: CatalogueTypeView[] } {
    return {
      types: this.catalogue.types().map((type) => ({
        name: type.name,
        description: type.description,
        pool: type.pool,
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
