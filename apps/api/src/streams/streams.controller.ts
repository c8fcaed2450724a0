import {
  BadRequestException,
  Controller,
  Get,
  Headers,
  Logger,
  NotFoundException,
  Param,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OperationStore } from '@app/database';
import { logEntry } from '@app/platform';
import { Access } from '../access/access.decorators';
import { principalOf } from '../access/access-state';
import { mustSee, scopeFilter } from '../access/scope';
import { ApiRefusals, type Refusal } from '../docs/error-answers';
import { LIST_PAGE_DEFAULT, OperationIdParams } from '../operations/dto';
import { LogStreamQuery, OperationsStreamQuery } from './dto';
import { LogStream } from './log-stream';
import { OpenStreams } from './open-streams';
import { OperationFeeds } from './operation-feed';
import { OperationsStream, StatusFeed } from './operations-stream';
import { SseWriter } from './sse-writer';
import { ApiStreamSettings } from './stream.settings';

const notFound = (id: string) => new NotFoundException(`operation ${id} not found`);

const EXAMPLE_ID = '3f2b8c1e-6a4d-4e0b-9c7a-1d2e3f4a5b6c';
const NOT_FOUND: Refusal = {
  when: "the operation does not exist, or is outside the token's scope (answered alike)",
  message: `operation ${EXAMPLE_ID} not found`,
};
const LOG_EXAMPLE = [
  'retry: 1000',
  '',
  'event: status',
  'data: {"status":"running","reason":null,"exitCode":null,"cancelRequestedAt":null,"lineCount":null,"linesStored":null,"complete":null,"tasks":[{"id":"…","name":"hello","status":"running","exitCode":null,"reason":null}]}',
  '',
  'id: 2',
  'event: lines',
  'data: {"lines":[{"seq":1,"taskId":"…","stream":"system","text":"== task hello: …","at":"2026-01-01T00:00:00.000Z","continues":false},{"seq":2,"taskId":"…","stream":"stdout","text":"PLAY [hello]","at":"2026-01-01T00:00:00.010Z","continues":false}]}',
  '',
  ': keep-alive',
  '',
  'event: end',
  'data: {"status":"succeeded","reason":null,"exitCode":0,"lineCount":2,"linesStored":2,"complete":true,"lastSeq":2}',
  '',
].join('\n');
const OPERATIONS_EXAMPLE = [
  'event: status',
  'data: {"initial":true,"operations":[{"id":"…","type":"demo.hello","target":"web1","status":"queued", "…": "…"}]}',
  '',
  'event: status',
  'data: {"operations":[{"id":"…","type":"demo.hello","target":"web1","status":"running", "…": "…"}]}',
  '',
].join('\n');

/** A Last-Event-ID we sent: a seq. */
function lastEventSeq(header: string | undefined): number | undefined {
  if (header === undefined || header === '') return undefined;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(header) || !Number.isSafeInteger(Number(header))) {
    throw new BadRequestException('Last-Event-ID must be the seq of a line (an integer >= 0)');
  }
  return Number(header);
}

/**
 * The live streams (text/event-stream): one operation's log, and the status changes of all
 * operations. Who may read them, and what answers 401/403/404, is as for the reads they
 * follow; every check is made before the stream opens.
 */
@ApiTags('operations')
@Controller('operations')
export class StreamsController {
  private readonly logger = new Logger('LiveLog');

  constructor(
    private readonly store: OperationStore,
    private readonly feeds: OperationFeeds,
    private readonly statusFeed: StatusFeed,
    private readonly open: OpenStreams,
    private readonly settings: ApiStreamSettings,
  ) {}

  /** Status changes of every operation the filters (as the list's) and the token's scope take. */
  @Get('stream')
  @Access({ role: 'viewer', action: 'operation.list' })
  @ApiOperation({
    summary: 'Status changes of every operation (SSE), for dashboards',
    description:
      "First a `status` event `{operations: [...], initial: true}`: the newest `limit` operations (as the list's first page) the filters and the token's scope take; then a `status` event `{operations: [...]}` with each such operation (as GET /operations/:id shows it, without its tasks) whose status or a task's changed. Another `initial` event may come later (the api's database listener reconnected): it replaces what the client holds. A comment every API_SSE_HEARTBEAT_MS; the stream ends when its token is revoked or expires.",
  })
  @ApiOkResponse({
    description: 'text/event-stream, open until the client leaves',
    content: { 'text/event-stream': { schema: { type: 'string' }, example: OPERATIONS_EXAMPLE } },
  })
  @ApiRefusals({
    400: {
      when: 'a filter is not valid',
      message: ['status must be one of the following values: queued, …'],
    },
  })
  async operations(
    @Req() request: IncomingMessage,
    @Res() response: ServerResponse,
    @Query() query: OperationsStreamQuery,
  ): Promise<void> {
    const { limit = LIST_PAGE_DEFAULT, ...filters } = query;
    const filter = { ...filters, accept: scopeFilter(request) };
    const reader = {
      snapshot: async () => (await this.store.list({ ...filter, limit })).items,
      read: (ids: string[]) => this.store.getMany(ids),
    };
    const sse = new SseWriter(response, this.settings.heartbeatMs);
    this.open.add('operations', sse, principalOf(request));
    await new OperationsStream(sse, filter, reader).run(this.statusFeed);
  }

  /**
   * The lines after Last-Event-ID (or `after`), then live until the operation has ended and
   * every line is sent; see LogStream.
   */
  @Get(':id/log/stream')
  @Access({ role: 'viewer', action: 'operation.log' })
  @ApiOperation({
    summary: "The operation's live log (SSE)",
    description:
      'The lines after `Last-Event-ID` (or `after`), then new ones as they are committed, each once and in order: `lines` events (one or more lines; `id` = the seq of the last), at most one every API_SSE_EVENT_INTERVAL_MS; `status` first and whenever the operation or a task changes; `end` once it has ended and every stored line was sent, then the stream closes; a comment every API_SSE_HEARTBEAT_MS.',
  })
  @ApiOkResponse({
    description: 'text/event-stream, until the `end` event',
    content: { 'text/event-stream': { schema: { type: 'string' }, example: LOG_EXAMPLE } },
  })
  @ApiRefusals({
    400: [
      { when: '`id` is not a UUID', message: ['id must be a UUID'] },
      { when: '`after` is not valid', message: ['after must not be less than 0'] },
      {
        when: '`Last-Event-ID` is not a seq',
        message: 'Last-Event-ID must be the seq of a line (an integer >= 0)',
      },
    ],
    404: NOT_FOUND,
  })
  async log(
    @Req() request: IncomingMessage,
    @Res() response: ServerResponse,
    @Param() { id }: OperationIdParams,
    @Query() query: LogStreamQuery,
    @Headers('last-event-id') lastEventId?: string,
  ): Promise<void> {
    const after = lastEventSeq(lastEventId) ?? query.after ?? 0;
    const progress = await this.store.progress(id);
    if (!progress) throw notFound(id);
    mustSee(request, progress, () => notFound(id));
    const feed = await this.feeds.acquire(id);
    try {
      const sse = new SseWriter(response, this.settings.heartbeatMs);
      this.open.add('log', sse, principalOf(request));
      await new LogStream(sse, feed, after, this.settings.eventIntervalMs)
        .run()
        .catch((error: unknown) => {
          // the headers are sent: no error answer now; the client resumes from its Last-Event-ID
          this.logger.warn(
            logEntry(
              `live log of operation ${id} broke off (${(error as Error).message}); closing the stream`,
              { operationId: id },
            ),
          );
          sse.end();
        });
    } finally {
      this.feeds.release(feed);
    }
  }
}
