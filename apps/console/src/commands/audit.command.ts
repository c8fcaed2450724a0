import { AUDIT_OUTCOMES, BadCursorError, type AuditOutcome } from '@app/database';
import { Command, CommandRunner, Option } from 'nest-commander';
import { BAD_INPUT, CliError } from '../cli-error';
import { ConsoleDatabase } from '../console-database';
import { printable } from '../dead-letters';
import { integerFlag, operationId } from '../flags';
import { formatTime, table } from '../format';
import { out, printJson } from '../output';

interface AuditOptions {
  limit?: string;
  actor?: string;
  action?: string;
  outcome?: string;
  operation?: string;
  cursor?: string;
  json?: boolean;
}

const textFlag = (flag: string, value: string | undefined): string | undefined => {
  if (value !== undefined && (value.length === 0 || value.length > 500)) {
    throw new CliError(`${flag} must be 1 to 500 characters`, BAD_INPUT);
  }
  return value;
};

@Command({
  name: 'audit',
  description:
    'Show the audit trail, newest first: every create, cancel, retry, token change and refused request',
})
export class AuditCommand extends CommandRunner {
  constructor(private readonly db: ConsoleDatabase) {
    super();
  }

  async run(_args: string[], options: AuditOptions): Promise<void> {
    let filter;
    try {
      if (
        options.outcome !== undefined &&
        !(AUDIT_OUTCOMES as readonly string[]).includes(options.outcome)
      ) {
        throw new CliError(
          `--outcome must be one of ${AUDIT_OUTCOMES.join(', ')}, got ${JSON.stringify(options.outcome)}`,
        );
      }
      filter = {
        limit: integerFlag('--limit', options.limit, 1, 1000) ?? 50,
        actor: textFlag('--actor', options.actor),
        action: textFlag('--action', options.action),
        outcome: options.outcome as AuditOutcome | undefined,
        operationId: options.operation === undefined ? undefined : operationId(options.operation),
        cursor: textFlag('--cursor', options.cursor),
      };
    } catch (error) {
      throw error instanceof CliError ? new CliError(error.message, BAD_INPUT) : error;
    }
    const page = await (await this.db.auditLog()).list(filter).catch((error: unknown) => {
      throw error instanceof BadCursorError
        ? new CliError('--cursor is not valid', BAD_INPUT)
        : error;
    });
    if (options.json) return printJson(page);
    if (page.items.length === 0) return out('no audit events\n');
    await out(
      table(
        ['ID', 'AT', 'ACTOR', 'ACTION', 'OUTCOME', 'OPERATION', 'SOURCE', 'DETAIL'],
        page.items.map((event) => [
          String(event.id),
          formatTime(event.at),
          printable(event.actor),
          printable(event.action),
          event.outcome,
          event.operationId ?? '-',
          printable(event.source ?? '-'),
          printable(JSON.stringify(event.detail)),
        ]),
      ),
    );
    if (page.nextCursor) await out(`more: --cursor ${page.nextCursor}\n`);
  }

  @Option({ flags: '--limit <n>', description: 'how many, 1 to 1000 (default 50)' })
  parseLimit(value: string): string {
    return value;
  }

  @Option({
    flags: '--actor <actor>',
    description: 'only this actor, e.g. token:ci or console:alice',
  })
  parseActor(value: string): string {
    return value;
  }

  @Option({ flags: '--action <action>', description: 'only this action, e.g. operation.create' })
  parseAction(value: string): string {
    return value;
  }

  @Option({ flags: '--outcome <outcome>', description: 'ok or refused' })
  parseOutcome(value: string): string {
    return value;
  }

  @Option({ flags: '--operation <id>', description: 'only events of this operation' })
  parseOperation(value: string): string {
    return value;
  }

  @Option({ flags: '--cursor <cursor>', description: 'continue after a previous page' })
  parseCursor(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print {items, nextCursor} as JSON' })
  parseJson(): boolean {
    return true;
  }
}
