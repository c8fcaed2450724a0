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
  Req,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
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
import { Access } from '../access/access.decorators';
import { ApiAudit, requestActor } from '../access/api-audit';
import { mustActOn, mustSee, scopeFilter } from '../access/scope';
import { ApiMetrics } from '../observability/api-metrics';
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
    private readonly audit: ApiAudit,
    private readonly sealer: OperationSealer,
    private readonly metrics: ApiMetrics,
  ) {}

  /**
   * A PlanError (unknown type, bad target or params) becomes a 400 via BadInputFilter; a type
   * or target outside the token's scope is a 403, before anything is planned. Secret params
   * are checked in clear, then sealed: only ciphertext is stored.
   */
  @Post()
  @Access({ role: 'operator', action: 'operation.create' })
  async create(
    @Req() request: IncomingMessage,
    @Body() body: CreateOperationBody,
  ): Promise<OperationView> {
    mustActOn(request, body);
    const plan = this.catalogue.plan({
      type: body.type,
      target: body.target,
      params: body.params,
    });
    const view = await this.store.create(await this.sealer.seal(plan), {
      actor: requestActor(request),
    });
    this.metrics.operationCreated(view.type);
    await this.audit.ok(request, 'operation.create', view.id, {
      type: view.type,
      target: view.target,
    });
    return view;
  }

  /** Only the operations inside the token's scope are listed. */
  @Get()
  @Access({ role: 'viewer', action: 'operation.list' })
  async list(
    @Req() request: IncomingMessage,
    @Query() query: ListOperationsQuery,
  ): Promise<OperationPage> {
    return this.store.list({
      status: query.status,
      type: query.type,
      target: query.target,
      limit: query.limit ?? 50,
      cursor: query.cursor,
      accept: scopeFilter(request),
    });
  }

  @Get(':id')
  @Access({ role: 'viewer', action: 'operation.read' })
  async get(
    @Req() request: IncomingMessage,
    @Param() { id }: OperationIdParams,
  ): Promise<OperationView> {
    const view = await this.store.get(id);
    if (!view) throw notFound(id);
    mustSee(request, view, () => notFound(id));
    return view;
  }

  /**
   * A queued or dispatched operation is cancelled at once; a running one is asked to stop
   * (`cancelRequestedAt`) and ends `cancelled` when its dispatcher has stopped it. A finished
   * one is a 409 (ConflictError, via ConflictFilter).
   */
  @Post(':id/cancel')
  @HttpCode(HttpStatus.OK)
  @Access({ role: 'operator', action: 'operation.cancel' })
  async cancel(
    @Req() request: IncomingMessage,
    @Param() { id }: OperationIdParams,
    @Body() body: CancelOperationBody,
  ): Promise<OperationView> {
    await this.mustActOnStored(request, id);
    const view = await this.store.cancel(id, body.reason, requestActor(request));
    if (!view) throw notFound(id);
    // not yet claimed: it ended here (a running one ends when its dispatcher stopped it)
    if (view.status === 'cancelled') this.metrics.operationEnded(view.type, view.status);
    await this.audit.ok(request, 'operation.cancel', id, {
      status: view.status,
      reason: view.reason,
    });
    return view;
  }

  /**
   * A new attempt of a failed, timed_out, lost or cancelled operation, planned through the
   * catalogue as it is now: a type that is gone or params that no longer fit are a 400.
   * Secret params are dispatched again as they were sealed.
   */
  @Post(':id/retry')
  @Access({ role: 'operator', action: 'operation.retry' })
  async retry(
    @Req() request: IncomingMessage,
    @Param() { id }: OperationIdParams,
  ): Promise<OperationView> {
    await this.mustActOnStored(request, id);
    const view = await this.store.retry(id, {
      actor: requestActor(request),
      plan: (original) =>
        this.catalogue.planStored({
          type: original.type,
          target: original.target,
          params: original.params,
        }),
    });
    if (!view) throw notFound(id);
    this.metrics.operationCreated(view.type);
    await this.audit.ok(request, 'operation.retry', id, {
      retryId: view.id,
      attempt: view.attempt,
    });
    return view;
  }

  @Get(':id/log')
  @Access({ role: 'viewer', action: 'operation.log' })
  async log(
    @Req() request: IncomingMessage,
    @Param() { id }: OperationIdParams,
    @Query() query: LogQuery,
  ): Promise<LogPage> {
    const after = query.after ?? 0;
    // Status first: when it is terminal, every line written before it is in the read below.
    const progress = await this.store.progress(id);
    if (!progress) throw notFound(id);
    mustSee(request, progress, () => notFound(id));
    const lines = (await this.store.logAfter(id, after, query.limit ?? 1000)) ?? [];
    return {
      operationId: id,
      status: progress.status,
      lines,
      next: lines.length ? lines[lines.length - 1].seq : after,
    };
  }

  /** 404 for an operation that does not exist, 403 for one outside the token's scope. */
  private async mustActOnStored(request: IncomingMessage, id: string): Promise<void> {
    const stored = await this.store.progress(id);
    if (!stored) throw notFound(id);
    mustActOn(request, stored);
  }
}
