/**
 * The schemas of what the tokens, audit and health routes answer, for the OpenAPI document.
 * Each class implements the view the repository returns; the handlers return those objects.
 */
import { ApiProperty } from '@nestjs/swagger';
import {
  AUDIT_OUTCOMES,
  TOKEN_ROLES,
  type ApiTokenView,
  type AuditEventView,
  type AuditOutcome,
  type AuditPage as StoredAuditPage,
  type TokenRole,
} from '@app/database';

const AT = '2026-12-03T19:25:00.000Z';
const TOKEN_ID = '0b6f1d2e-3c4a-4b5d-8e6f-7a8b9c0d1e2f';

export class ApiToken implements ApiTokenView {
  @ApiProperty({ format: 'uuid', example: TOKEN_ID })
  id!: string;

  @ApiProperty({ example: 'ci' })
  name!: string;

  @ApiProperty({ enum: TOKEN_ROLES, example: 'operator' })
  role!: TokenRole;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'A glob of the operation types it may act on and see; null: any',
    example: 'site.*',
  })
  types!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'A glob of the targets it may act on and see; null: any',
    example: '*.example.com',
  })
  targets!: string | null;

  @ApiProperty({ format: 'date-time', example: AT })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  expiresAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  revokedAt!: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Updated at most once a minute',
    example: null,
  })
  lastUsedAt!: string | null;
}

export class CreatedApiToken extends ApiToken {
  @ApiProperty({
    description: 'The token itself: shown in this answer only, never stored',
    example: `aq_${TOKEN_ID}_${'x'.repeat(43)}`,
  })
  token!: string;
}

export class ApiTokenList {
  @ApiProperty({ type: [ApiToken] })
  items!: ApiToken[];
}

export class AuditEvent implements AuditEventView {
  @ApiProperty({ example: 42 })
  id!: number;

  @ApiProperty({ format: 'date-time', example: AT })
  at!: string;

  @ApiProperty({
    description: '`token:<name>`, `console:<os user>`, `relay` or `anonymous`',
    example: 'token:ci',
  })
  actor!: string;

  @ApiProperty({
    description:
      'e.g. `operation.create`, `token.revoke`, or `http <METHOD> <path>` for a request refused before routing',
    example: 'operation.create',
  })
  action!: string;

  @ApiProperty({ enum: AUDIT_OUTCOMES, example: 'ok' })
  outcome!: AuditOutcome;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, example: null })
  operationId!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The remote address, or `console`',
    example: '192.0.2.10',
  })
  source!: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'What happened (a refusal: status, method, path, message); never a token or a body',
    example: { type: 'site.release', target: 'shop.example.com' },
  })
  detail!: Record<string, unknown>;
}

export class AuditPage implements StoredAuditPage {
  @ApiProperty({ type: [AuditEvent], description: 'Newest first' })
  items!: AuditEvent[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last one',
    example: null,
  })
  nextCursor!: string | null;
}

export class HealthStatus {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status!: 'ok';
}
