import { Controller, Get, Query, Req } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { Matches, IsOptional } from 'class-validator';
import type { IncomingMessage } from 'node:http';
import { POOL_PATTERN } from '@app/contracts';
import {
  DISPATCHER_STATES,
  DispatcherStore,
  type DispatcherOperation,
  type DispatcherState,
  type DispatcherView,
} from '@app/database';
import { Access } from '../access/access.decorators';
import { scopeFilter } from '../access/scope';
import { ApiRefusals } from '../docs/error-answers';

const AT = '2026-12-03T19:25:00.000Z';

export class WorkersQuery {
  @ApiPropertyOptional({
    description: 'Only the dispatchers of this pool',
    pattern: POOL_PATTERN.source,
    example: 'default',
  })
  @IsOptional()
  @Matches(POOL_PATTERN, { message: `pool must match ${POOL_PATTERN.source}` })
  pool?: string;
}

export class WorkerOperation implements DispatcherOperation {
  @ApiProperty({ format: 'uuid', example: '3f2b8c1e-6a4d-4e0b-9c7a-1d2e3f4a5b6c' })
  id!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'null when no such operation is stored',
    example: 'site.release',
  })
  type!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'shop.example.com' })
  target!: string | null;
}

export class Worker implements DispatcherView {
  @ApiProperty({ description: 'Its DISPATCHER_ID', example: 'web-worker-1' })
  dispatcherId!: string;

  @ApiProperty({ example: 'default' })
  pool!: string;

  @ApiProperty({
    enum: DISPATCHER_STATES,
    description:
      '`silent` once no heartbeat came for RELAY_LOST_AFTER_MS (the horizon after which its running operations become `lost`)',
    example: 'alive',
  })
  state!: DispatcherState;

  @ApiProperty({
    description: 'How many operations its last heartbeat named (being claimed or running there)',
    example: 1,
  })
  running!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Its DISPATCHER_CONCURRENCY; null when its release does not send it',
    example: 4,
  })
  concurrency!: number | null;

  @ApiProperty({
    type: [WorkerOperation],
    description:
      'The operations its last heartbeat named; for a token with a types/targets scope only those within it (`running` counts them all)',
  })
  operations!: WorkerOperation[];

  @ApiProperty({ format: 'date-time', description: 'Its first heartbeat recorded', example: AT })
  firstSeenAt!: string;

  @ApiProperty({ format: 'date-time', description: 'Its latest heartbeat', example: AT })
  lastSeenAt!: string;

  @ApiProperty({
    format: 'date-time',
    description: 'When it is (or became) `silent` unless heard from again',
    example: '2026-12-03T19:26:00.000Z',
  })
  silentAfter!: string;

  @ApiProperty({ description: 'Milliseconds since its latest heartbeat', example: 1200 })
  lastSeenAgoMs!: number;
}

export class WorkerList {
  @ApiProperty({ type: [Worker], description: 'By pool, then dispatcher id' })
  items!: Worker[];
}

/**
 * The dispatchers seen by heartbeat. A dispatcher not heard from for the silence horizon is
 * `silent`; the relay forgets it once it has been silent for RELAY_DISPATCH_TTL_MS.
 */
@ApiTags('workers')
@Controller('workers')
export class WorkersController {
  constructor(private readonly dispatchers: DispatcherStore) {}

  @Get()
  @Access({ role: 'viewer', action: 'worker.list' })
  @ApiOperation({
    summary: 'The dispatchers seen by heartbeat: pool, what each runs, last seen, alive or silent',
  })
  @ApiOkResponse({ type: WorkerList })
  @ApiRefusals({
    400: { when: '`pool` is not a pool name', message: [`pool must match ${POOL_PATTERN.source}`] },
  })
  async list(@Req() request: IncomingMessage, @Query() query: WorkersQuery): Promise<WorkerList> {
    const items = await this.dispatchers.list({ pool: query.pool });
    const accept = scopeFilter(request);
    if (!accept) return { items };
    return {
      items: items.map((item) => ({
        ...item,
        operations: item.operations.filter(
          (op) =>
            op.type !== null && op.target !== null && accept({ type: op.type, target: op.target }),
        ),
      })),
    };
  }
}
