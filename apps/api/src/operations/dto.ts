import { OPERATION_STATUSES, type OperationStatus } from '@app/contracts';
import { MAX_CANCEL_REASON_LENGTH } from '@app/database';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

/** The body of POST /operations. `params` is checked against the type's schema by the catalogue. */
export class CreateOperationBody {
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  type!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  target!: string;

  @IsOptional()
  @IsObject()
  params?: Record<string, unknown>;
}

export class ListOperationsQuery {
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

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  cursor?: string;
}

/** The optional body of POST /operations/:id/cancel. */
export class CancelOperationBody {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_CANCEL_REASON_LENGTH)
  reason?: string;
}

export class OperationIdParams {
  @IsUUID()
  id!: string;
}

export class LogQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  limit?: number;
}
