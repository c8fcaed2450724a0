import { Controller, Get, Query } from '@nestjs/common';
import { AuditLog, type AuditPage } from '@app/database';
import { Access } from './access.decorators';
import { AuditQuery } from './dto';

/** The audit trail, newest first, for an admin token without a scope. */
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditLog) {}

  @Get()
  @Access({ role: 'admin', action: 'audit.read', unscoped: true })
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
