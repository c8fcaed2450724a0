import { PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { ListOperationsQuery } from '../operations/dto';

export class LogStreamQuery {
  /** Replay the lines after this seq (Last-Event-ID, when sent, wins). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after?: number;
}

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
