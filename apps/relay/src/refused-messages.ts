import { Injectable, Logger } from '@nestjs/common';
import { AuditLog } from '@app/database';
import { logEntry } from '@app/platform';

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

  /** `dispatcherId`: the dispatcher the message names as its sender (its app-id). */
  async record(entry: RefusedMessage, dispatcherId?: string): Promise<void> {
    const operation = entry.operationId ? ` (operation ${entry.operationId})` : '';
    const about = { operationId: entry.operationId ?? undefined, dispatcherId };
    this.logger.warn(
      logEntry(
        `refused ${entry.action} from ${entry.actor} on ${entry.source}${operation}: ${entry.detail}`,
        about,
      ),
    );
    try {
      await this.audit.record({ ...entry, detail: { reason: entry.detail } });
    } catch (error) {
      this.logger.warn(
        logEntry(`the audit did not take that refusal: ${(error as Error).message}`, about),
      );
    }
  }
}
