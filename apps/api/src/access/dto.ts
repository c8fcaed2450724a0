import { AUDIT_OUTCOMES, TOKEN_ROLES, type AuditOutcome, type TokenRole } from '@app/database';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';

/** POST /tokens. The rules of each field (name, role, globs, duration) are the repository's. */
export class CreateTokenBody {
  @ApiProperty({
    description: '1 to 64 letters, digits, dots, dashes or underscores; unique',
    pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
    example: 'ci',
  })
  @IsString()
  @MaxLength(255)
  name!: string;

  @ApiProperty({
    enum: TOKEN_ROLES,
    description:
      'viewer reads; operator also creates, cancels, retries; admin also manages tokens and reads the audit',
    example: 'operator',
  })
  @IsString()
  @MaxLength(32)
  role!: TokenRole;

  @ApiPropertyOptional({
    description: 'A glob (picomatch) of the operation types it may act on and see; none: any',
    example: 'site.*',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  types?: string;

  @ApiPropertyOptional({
    description: 'A glob (picomatch) of the targets it may act on and see; none: any',
    example: '*.example.com',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  targets?: string;

  /** `30m`, `12h`, `90d`; none: until revoked. */
  @ApiPropertyOptional({
    description: 'How long it works: minutes, hours or days, at most 3650d; none: until revoked',
    pattern: '^[1-9][0-9]{0,5}[mhd]$',
    example: '90d',
  })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  expires?: string;
}

export class TokenRefParams {
  @ApiProperty({ description: "The token's name or id", example: 'ci' })
  @IsString()
  @MaxLength(255)
  ref!: string;
}

export class AuditQuery {
  @ApiPropertyOptional({ maxLength: 500, example: 'token:ci' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  actor?: string;

  @ApiPropertyOptional({ maxLength: 500, example: 'operation.create' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  action?: string;

  @ApiPropertyOptional({ enum: AUDIT_OUTCOMES, example: 'refused' })
  @IsOptional()
  @IsIn(AUDIT_OUTCOMES)
  outcome?: AuditOutcome;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  operationId?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ maxLength: 100, description: "The previous page's `nextCursor`" })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  cursor?: string;
}
