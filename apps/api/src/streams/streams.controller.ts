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
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OperationStore } from '@app/database';
import { Access } from '../access/access.decorators';
import { mustSee, scopeFilter } from '../access/scope';
import { OperationIdParams } from '../operations/dto';
import { LogStreamQuery, OperationsStreamQuery } from './dto';
import { LogStream } from './log-stream';
import { OpenStreams } from './open-streams';
import { OperationFeeds } from './operation-feed';
import { OperationsStream, StatusFeed } from './operations-stream';
import { SseWriter } from './sse-writer';
import { ApiStreamSettings } from './stream.settings';

const notFound = (id: string) => new NotFoundException(`operation ${id} not found`);

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
  async operations(
    @Req() request: IncomingMessage,
    @Res() response: ServerResponse,
    @Query() query: OperationsStreamQuery,
  ): Promise<void> {
    const filter = { ...query, accept: scopeFilter(request) };
    const sse = new SseWriter(response, this.settings.heartbeatMs);
    this.open.add('operations', sse);
    await new OperationsStream(sse, filter).run(this.statusFeed);
  }

  /**
   * The lines after Last-Event-ID (or `after`), then live until the operation has ended and
   * every line is sent; see LogStream.
   */
  @Get(':id/log/stream')
  @Access({ role: 'viewer', action: 'operation.log' })
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
      this.open.add('log', sse);
      await new LogStream(sse, feed, this.store, after, this.settings.eventIntervalMs)
        .run()
        .catch((error: unknown) => {
          // the headers are sent: no error answer now; the client resumes from its Last-Event-ID
          this.logger.warn(
            { operationId: id, err: error },
            `live log of operation ${id} broke off; closing the stream`,
          );
          sse.end();
        });
    } finally {
      this.feeds.release(feed);
    }
  }
}
