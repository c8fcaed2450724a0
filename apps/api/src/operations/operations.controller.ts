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
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { IncomingMessage } from 'node:http';
import { Catalogue } from '@app/catalogue';
import { OperationStore, type OperationPage, type OperationView } from '@app/database';
import {
  CancelOperationBody,
  CreateOperationBody,
  LIST_PAGE_DEFAULT,
  ListOperationsQuery,
  LogQuery,
  OperationIdParams,
} from './dto';
import { Access } from '../access/access.decorators';
import { ApiAudit, requestActor } from '../access/api-audit';
import { mustActOn, mustSee, scopeFilter } from '../access/scope';
import { ApiMetrics } from '../observability/api-metrics';
import { ApiRefusals, type Refusal } from '../docs/error-answers';
import { OperationSealer } from './operation-sealer';
import { LogPage, Operation, OperationPage as OperationPageSchema } from './views';

const notFound = (id: string) => new NotFoundException(`operation ${id} not found`);

const EXAMPLE_ID = '3f2b8c1e-6a4d-4e0b-9c7a-1d2e3f4a5b6c';
const NOT_FOUND: Refusal = {
  when: "the operation does not exist, or is outside the token's scope (answered alike)",
  message: `operation ${EXAMPLE_ID} not found`,
};
const BAD_ID: Refusal = { when: '`id` is not a UUID', message: ['id must be a UUID'] };
const OUTSIDE_SCOPE: Refusal = {
  when: "the operation's type or target is outside the token's types/targets scope",
  message:
    'token ci may act only on types site.* and targets *.example.com; not site.release on db1',
};

@ApiTags('operations')
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
  @ApiOperation({
    summary: 'Create an operation',
    description:
      'Plans the type into its tasks and stores them with the dispatch, in one transaction. Secret params are sealed: only ciphertext is stored.',
  })
  @ApiCreatedResponse({ type: Operation, description: 'Stored `queued`, with its tasks' })
  @ApiRefusals({
    400: {
      when: 'a field is missing or wrong: the type is not in the catalogue, the target is not a host or site name, or params do not fit its schema',
      message: ['params.version is required'],
    },
    403: OUTSIDE_SCOPE,
  })
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
  @ApiOperation({ summary: 'List operations, newest first (filters, keyset pages)' })
  @ApiOkResponse({ type: OperationPageSchema })
  @ApiRefusals({
    400: { when: 'a filter, `limit` or `cursor` is not valid', message: ['cursor is not valid'] },
  })
  async list(
    @Req() request: IncomingMessage,
    @Query() query: ListOperationsQuery,
  ): Promise<OperationPage> {
    return this.store.list({
      status: query.status,
      type: query.type,
      target: query.target,
      createdBy: query.createdBy,
      since: query.since,
      until: query.until,
      limit: query.limit ?? LIST_PAGE_DEFAULT,
      cursor: query.cursor,
      accept: scopeFilter(request),
    });
  }

  @Get(':id')
  @Access({ role: 'viewer', action: 'operation.read' })
  @ApiOperation({ summary: 'One operation, with its tasks' })
  @ApiOkResponse({ type: Operation })
  @ApiRefusals({ 400: BAD_ID, 404: NOT_FOUND })
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
  @ApiOperation({
    summary: 'Cancel an operation',
    description:
      'A queued or dispatched operation is cancelled at once; a running one is asked to stop (`cancelRequestedAt`) and ends `cancelled` when its dispatcher has stopped it.',
  })
  @ApiBody({ type: CancelOperationBody, required: false })
  @ApiOkResponse({ type: Operation, description: 'The operation as it is now' })
  @ApiRefusals({
    400: [
      BAD_ID,
      { when: '`reason` is empty or too long', message: ['reason should not be empty'] },
    ],
    403: OUTSIDE_SCOPE,
    404: NOT_FOUND,
    409: {
      when: 'the operation has already ended',
      message: `operation ${EXAMPLE_ID} is already succeeded`,
    },
  })
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
  @ApiOperation({
    summary: 'Retry an operation that ended failed, timed_out, lost or cancelled',
    description:
      'Creates a new attempt (`retryOf` names this one), planned through the catalogue as it is now.',
  })
  @ApiCreatedResponse({ type: Operation, description: 'The new attempt, `queued`' })
  @ApiRefusals({
    400: [
      BAD_ID,
      {
        when: 'its type is no longer in the catalogue, or its params no longer fit',
        message: ['type "site.release" is not in the catalogue'],
      },
    ],
    403: OUTSIDE_SCOPE,
    404: NOT_FOUND,
    409: {
      when: 'it has not ended as failed, timed_out, lost or cancelled, or it was already retried',
      message: `operation ${EXAMPLE_ID} is running; only a failed, timed_out, lost or cancelled operation can be retried`,
    },
  })
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
  @ApiOperation({
    summary: "A page of the operation's log, after a seq",
    description:
      'Ask again with `after` = `next` until the status is terminal and no lines come back.',
  })
  @ApiOkResponse({ type: LogPage })
  @ApiRefusals({
    400: [
      BAD_ID,
      {
        when: '`after` or `limit` is not valid',
        message: ['limit must not be greater than 10000'],
      },
    ],
    404: NOT_FOUND,
  })
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
