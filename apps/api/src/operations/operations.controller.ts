import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  NotFoundException,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import { Catalogue } from '@app/catalogue';
import type { OperationStatus } from '@app/contracts';
import {
  OperationStore,
  type LogLineView,
  type OperationPage,
  type OperationView,
} from '@app/database';
import {
  CancelOperationBody,
  CreateOperationBody,
  ListOperationsQuery,
  LogQuery,
  OperationIdParams,
} from './dto';
import { OperationSealer } from './operation-sealer';

export interface LogPage {
  operationId: string;
  status: OperationStatus;
  lines: LogLineView[];
  /** The seq to ask for next with `after`: the last one returned, or `after` when none were. */
  next: number;
}

const notFound = (id: string) => new NotFoundException(`operation ${id} not found`);

@Controller('operations')
export class OperationsController {
  constructor(
    private readonly catalogue: Catalogue,
    private readonly store: OperationStore,
    private readonly sealer: OperationSealer,
  ) {}

  /**
   * A PlanError (unknown type, bad target or params) becomes a 400 via BadInputFilter. Secret
   * params are checked in clear, then sealed: only ciphertext is stored.
   */
  @Post()
  async create(@Body() body: CreateOperationBody): Promise<OperationView> {
    const plan = this.catalogue.plan({
      type: body.type,
      target: body.target,
      params: body.params,
    });
    return this.store.create(await this.sealer.seal(plan));
  }

  @Get()
  async list(@Query() query: ListOperationsQuery): Promise<OperationPage> {
    return this.store.list({
      status: query.status,
      type: query.type,
      target: query.target,
      limit: query.limit ?? 50,
      cursor: query.cursor,
    });
  }

  @Get(':id')
  async get(@Param() { id }: OperationIdParams): Promise<OperationView> {
    const view = await this.store.get(id);
    if (!view) throw notFound(id);
    return view;
  }

  /**
   * A queued or dispatched operation is cancelled at once; a running one is asked to stop
   * (`cancelRequestedAt`) and ends `cancelled` when its dispatcher has stopped it. A finished
   * one is a 409 (ConflictError, via ConflictFilter).
   */
  @Post(':id/cancel')
  @HttpCode(HttpStatus.OK)
  async cancel(
    @Param() { id }: OperationIdParams,
    @Body() body: CancelOperationBody,
  ): Promise<OperationView> {
    const view = await this.store.cancel(id, body.reason);
    if (!view) throw notFound(id);
    return view;
  }

  /**
   * A new attempt of a failed, timed_out, lost or cancelled operation, planned through the
   * catalogue as it is now: a type that is gone or params that no longer fit are a 400.
   * Secret params are dispatched again as they were sealed.
   */
  @Post(':id/retry')
  async retry(@Param() { id }: OperationIdParams): Promise<OperationView> {
    const view = await this.store.retry(id, {
      plan: (original) =>
        this.catalogue.planStored({
          type: original.type,
          target: original.target,
          params: original.params,
        }),
    });
    if (!view) throw notFound(id);
    return view;
  }

  @Get(':id/log')
  async log(@Param() { id }: OperationIdParams, @Query() query: LogQuery): Promise<LogPage> {
    const after = query.after ?? 0;
    // Status first: when it is terminal, every line written before it is in the read below.
    const progress = await this.store.progress(id);
    if (!progress) throw notFound(id);
    const lines = (await this.store.logAfter(id, after, query.limit ?? 1000)) ?? [];
    return {
      operationId: id,
      status: progress.status,
      lines,
      next: lines.length ? lines[lines.length - 1].seq : after,
    };
  }
}
