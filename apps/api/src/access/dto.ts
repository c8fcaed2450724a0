import { AUDIT_OUTCOMES, type AuditOutcome, type TokenRole } from '@app/database';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';

/** POST /tokens. The rules of each field (name, role, globs, duration) are the repository's. */
export class CreateTokenBody {
  @IsString()
  @MaxLength(255)
  name!: string;

  @IsString()
  @MaxLength(32)
  role!: TokenRole;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  types?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  targets?: string;

  /** `30m`, `12h`, `90d`; none: until revoked. */
  @IsOptional()
  @IsString()
  @MaxLength(32)
  expires?: string;
}

export class TokenRefParams {
  @IsString()
  @MaxLength(255)
  ref!: string;
}

export class AuditQuery {
  @IsOptional()
  @IsString()
  @MaxLength(500)
  actor?: string;

  @IsOptional()
  @IsString()
  @MaxLength(500)
  action?: string;

  @IsOptional()
  @IsIn(AUDIT_OUTCOMES)
  outcome?: AuditOutcome;

  @IsOptional()
  @IsUUID()
  operationId?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  cursor?: string;
}
