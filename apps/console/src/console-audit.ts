import { userInfo } from 'node:os';
import { Injectable } from '@nestjs/common';
import { ConsoleDatabase } from './console-database';

/** `console:<os user>`: who the console acts as, in created_by, cancelled_by and the audit. */
export function consoleActor(): string {
  try {
    return `console:${userInfo().username}`;
  } catch {
    // no passwd entry for this uid (a container's arbitrary user)
    return `console:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

/** The console's entries in the audit trail: actor `console:<os user>`, source `console`. */
@Injectable()
export class ConsoleAudit {
  readonly actor = consoleActor();

  constructor(private readonly db: ConsoleDatabase) {}

  async ok(action: string, operationId: string | null, detail: Record<string, unknown> = {}) {
    await this.record('ok', action, operationId, detail);
  }

  /** A change the console refused (as the api records its 4xx): the message it printed. */
  async refused(action: string, operationId: string | null, message: string) {
    await this.record('refused', action, operationId, { message });
  }

  private async record(
    outcome: 'ok' | 'refused',
    action: string,
    operationId: string | null,
    detail: Record<string, unknown>,
  ) {
    await (
      await this.db.auditLog()
    ).record({ actor: this.actor, action, outcome, operationId, source: 'console', detail });
  }
}
