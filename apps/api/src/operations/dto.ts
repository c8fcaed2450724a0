import { OPERATION_STATUSES, type OperationStatus } from '@app/contracts';
import { MAX_CANCEL_REASON_LENGTH } from '@app/database';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsISO8601,
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
  @ApiProperty({
    description: 'An operation type of the catalogue (GET /catalogue)',
    maxLength: 255,
    example: 'site.release',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  type!: string;

  @ApiProperty({
    description: 'The host or site name it acts on',
    maxLength: 255,
    example: 'shop.example.com',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  target!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      "Checked against the type's JSON Schema (`params` in GET /catalogue); defaults are filled in",
    example: { version: '2.4.1' },
  })
  @IsOptional()
  @IsObject()
  params?: Record<string, unknown>;
}

/** The operations a list page (and the operations stream's first event) holds unless told. */
export const LIST_PAGE_DEFAULT = 50;

export class ListOperationsQuery {
  @ApiPropertyOptional({ enum: OPERATION_STATUSES, example: 'failed' })
  @IsOptional()
  @IsIn(OPERATION_STATUSES)
  status?: OperationStatus;

  @ApiPropertyOptional({ maxLength: 255, example: 'site.release' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  type?: string;

  @ApiPropertyOptional({ maxLength: 255, example: 'shop.example.com' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  target?: string;

  @ApiPropertyOptional({
    maxLength: 255,
    description: 'Who created it: `token:<name>`, `console:<os user>`, `relay`',
    example: 'token:ci',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  createdBy?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Created at or after this ISO 8601 time (a date alone is UTC midnight)',
    example: '2026-12-04T10:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Created before this ISO 8601 time',
    example: '2026-12-05',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({
    maxLength: 1000,
    description: "The previous page's `nextCursor`",
  })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  cursor?: string;
}

/** The optional body of POST /operations/:id/cancel. */
export class CancelOperationBody {
  @ApiPropertyOptional({
    description: 'Recorded as the reason of the cancelled operation',
    maxLength: MAX_CANCEL_REASON_LENGTH,
    example: 'superseded by release 2.4.2',
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_CANCEL_REASON_LENGTH)
  reason?: string;
}

export class OperationIdParams {
  @ApiProperty({ format: 'uuid', example: '3f2b8c1e-6a4d-4e0b-9c7a-1d2e3f4a5b6c' })
  @IsUUID()
  id!: string;
}

export class LogQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    default: 0,
    description: 'Lines after this seq: the `next` of the previous page',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 10_000,
    default: 1000,
    description: 'At most this many lines (a page also stops near 1 MB of text)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  limit?: number;
}
