import { Injectable, Logger } from '@nestjs/common';
import { AuditLog } from '@app/database';

/** A message the relay would not take, as the audit records it (never its contents). */
export interface RefusedMessage {
  /** Who sent it: the broker user, and the dispatcher it named (`user/app-id`). */
  actor: string;
  /** `message:<kind>`, e.g. `message:status`. */
  action: string;
  outcome: 'refused';
  operationId: string | null;
  /** The queue it came on. */
  source: string;
  /** Why it was refused: the dead-letter reason. */
  detail: string;
}

/**
 * Records a refused message in the audit (and the log). The dead letter is the message's own
 * record; a failed audit write (PostgreSQL away) is logged and never holds the dead letter up.
 */
@Injectable()
export class RefusedMessages {
  private readonly logger = new Logger(RefusedMessages.name);

  constructor(private readonly audit: AuditLog) {}

  async record(entry: RefusedMessage): Promise<void> {
    const operation = entry.operationId ? ` (operation ${entry.operationId})` : '';
    this.logger.warn(
      `refused ${entry.action} from ${entry.actor} on ${entry.source}${operation}: ${entry.detail}`,
    );
    try {
      await this.audit.record({ ...entry, detail: { reason: entry.detail } });
    } catch (error) {
      this.logger.warn(`the audit did not take that refusal: ${(error as Error).message}`);
    }
  }
}
