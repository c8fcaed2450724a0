import { Injectable, Logger } from '@nestjs/common';

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
 * Where refused messages are recorded. For now a warning in the log; the audit log takes
 * this over (`AuditLog.record`) once it exists.
 */
@Injectable()
export class RefusedMessages {
  private readonly logger = new Logger(RefusedMessages.name);

  /** Resolves once recorded (the audit log's write will be asynchronous). */
  record(entry: RefusedMessage): Promise<void> {
    const operation = entry.operationId ? ` (operation ${entry.operationId})` : '';
    this.logger.warn(
      `refused ${entry.action} from ${entry.actor} on ${entry.source}${operation}: ${entry.detail}`,
    );
    return Promise.resolve();
  }
}
