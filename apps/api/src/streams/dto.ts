import { OPERATION_STATUSES, type OperationStatus } from '@app/contracts';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class LogStreamQuery {
  /** Replay the lines after this seq (Last-Event-ID, when sent, wins). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after?: number;
}

/** The filters of GET /operations, without its paging. */
export class OperationsStreamQuery {
  @IsOptional()
  @IsIn(OPERATION_STATUSES)
  status?: OperationStatus;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  type?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  target?: string;
}
