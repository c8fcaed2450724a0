import { Injectable } from '@nestjs/common';
import { AuditLog } from '@app/database';
import { noteRequestLogFields } from '@app/platform';
import type { IncomingMessage } from 'node:http';
import { accessState, actorOf, sourceOf } from './access-state';

/** The api's successful changes in the audit trail: the request's token and remote address. */
@Injectable()
export class ApiAudit {
  constructor(private readonly audit: AuditLog) {}

  async ok(
    request: IncomingMessage,
    action: string,
    operationId: string | null,
    detail: Record<string, unknown> = {},
  ): Promise<void> {
    // the request's log line names the operation too (one it created is in no path)
    if (operationId) noteRequestLogFields(request, { operationId });
    await this.audit.record({
      actor: actorOf(accessState(request)),
      action,
      outcome: 'ok',
      operationId,
      source: sourceOf(request),
      detail,
    });
  }
}

/** `token:<name>`, the actor an operation records as created_by, cancelled_by or retried_by. */
export const requestActor = (request: IncomingMessage): string => actorOf(accessState(request));
