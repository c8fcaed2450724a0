import { Module } from '@nestjs/common';
import { NotificationHub } from './notification-hub';
import { OpenStreams } from './open-streams';
import { OperationFeeds } from './operation-feed';
import { StatusFeed } from './operations-stream';

/**
 * The live streams' machinery: the one LISTEN connection, the per-operation feeds, the status
 * feed and the count of open streams (`OpenStreams.count()`, for a gauge). StreamsController is
 * declared by ApiModule, ahead of OperationsController, so that `operations/stream` is matched
 * before `operations/:id`.
 */
@Module({
  providers: [NotificationHub, OperationFeeds, StatusFeed, OpenStreams],
  exports: [NotificationHub, OperationFeeds, StatusFeed, OpenStreams],
})
export class StreamsModule {}
