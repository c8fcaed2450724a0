import { PickType } from '@nestjs/swagger';
import { ListOperationsQuery, LogQuery } from '../operations/dto';

/** Replay the lines after `after` (Last-Event-ID, when sent, wins). */
export class LogStreamQuery extends PickType(LogQuery, ['after'] as const) {}

/**
 * The filters of GET /operations, and `limit`: how many of the newest operations the first
 * (`initial`) event holds.
 */
export class OperationsStreamQuery extends PickType(ListOperationsQuery, [
  'status',
  'type',
  'target',
  'limit',
] as const) {}
