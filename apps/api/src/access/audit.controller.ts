import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditLog, type AuditPage } from '@app/database';
import { ApiRefusals } from '../docs/error-answers';
import { Access } from './access.decorators';
import { AuditQuery } from './dto';
import { AuditPage as AuditPageSchema } from './views';

/** The audit trail, newest first, for an admin token without a scope. */
@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditLog) {}

  @Get()
  @Access({ role: 'admin', action: 'audit.read', unscoped: true })
  @ApiOperation({ summary: 'The audit trail, newest first: changes and refused requests' })
  @ApiOkResponse({ type: AuditPageSchema })
  @ApiRefusals({
    400: {
      when: 'a filter, `limit` or `cursor` is not valid',
      message: ['outcome must be one of the following values: ok, refused'],
    },
  })
  async list(@Query() query: AuditQuery): Promise<AuditPage> {
    return this.audit.list({
      actor: query.actor,
      action: query.action,
      outcome: query.outcome,
      operationId: query.operationId,
      limit: query.limit ?? 100,
      cursor: query.cursor,
    });
  }
}
