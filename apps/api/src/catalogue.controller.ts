import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import {
  Catalogue,
  describeCatalogue,
  type CatalogueListing,
  type ListedTask,
  type ListedType,
  type RetryPolicy,
} from '@app/catalogue';
import { Access } from './access/access.decorators';

class CatalogueRetryPolicy implements RetryPolicy {
  @ApiProperty({ description: 'New attempts after the first one; 0: never', example: 0 })
  attempts!: number;

  @ApiProperty({ description: 'Seconds between the loss and the new attempt', example: 30 })
  backoffSeconds!: number;
}

class CatalogueTypeTask implements ListedTask {
  @ApiProperty({ example: 'deploy' })
  name!: string;

  @ApiProperty({ enum: ['ansible-playbook', 'command'], example: 'ansible-playbook' })
  runner!: ListedTask['runner'];

  @ApiProperty({ description: 'Seconds before the task is stopped, timed_out', example: 1800 })
  timeoutSeconds!: number;
}

export class CatalogueType implements ListedType {
  @ApiProperty({ example: 'site.release' })
  name!: string;

  @ApiProperty({ example: 'Roll out a release of a site' })
  description!: string;

  @ApiProperty({ example: 'default' })
  pool!: string;

  /** May run alongside other operations on the same target. */
  @ApiProperty({
    description: 'May run alongside other operations on the same target',
    example: false,
  })
  parallel!: boolean;

  /** Automatic retries of an operation that ended `lost`. */
  @ApiProperty({
    type: CatalogueRetryPolicy,
    description: 'Automatic retries of an operation that ended `lost`',
  })
  retry!: RetryPolicy;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The JSON Schema that `params` of POST /operations must fit',
    example: {
      type: 'object',
      required: ['version'],
      properties: { version: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } },
      additionalProperties: false,
    },
  })
  params!: Record<string, unknown>;

  @ApiProperty({ type: [CatalogueTypeTask], description: 'In the order they run' })
  tasks!: CatalogueTypeTask[];
}

export class CatalogueTypes implements CatalogueListing {
  @ApiProperty({ type: [CatalogueType] })
  types!: CatalogueType[];
}

/** What a client may ask for. How each task runs (argv, playbook) stays on the back end. */
@ApiTags('catalogue')
@Controller('catalogue')
export class CatalogueController {
  constructor(private readonly catalogue: Catalogue) {}

  @Get()
  @Access({ role: 'viewer', action: 'catalogue.read' })
  @ApiOperation({ summary: 'The operation types a client may create, with their params schema' })
  @ApiOkResponse({ type: CatalogueTypes })
  list(): CatalogueListing {
    return describeCatalogue(this.catalogue);
  }
}
