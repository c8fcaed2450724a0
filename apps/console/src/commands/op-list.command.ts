import { Command, CommandRunner, Option } from 'nest-commander';
import { CliError } from '../cli-error';
import { operationsTable } from '../format';
import { integerFlag, statusFlag, timeFlag } from '../flags';
import { Operations } from '../operations/operations';
import { out, printJson } from '../output';

interface OpListOptions {
  status?: string;
  type?: string;
  target?: string;
  createdBy?: string;
  since?: string;
  until?: string;
  limit?: string;
  cursor?: string;
  json?: boolean;
}

/** As GET /operations bounds its text filters. */
const MAX_FILTER_LENGTH = 255;

const textFlag = (flag: string, raw: string | undefined): string | undefined => {
  if (raw !== undefined && (raw.length === 0 || raw.length > MAX_FILTER_LENGTH)) {
    throw new CliError(`${flag} must be 1 to ${MAX_FILTER_LENGTH} characters`);
  }
  return raw;
};

@Command({
  name: 'op:list',
  description: 'List operations, newest first, with the filters of GET /operations',
})
export class OpListCommand extends CommandRunner {
  constructor(private readonly operations: Operations) {
    super();
  }

  async run(_args: string[], options: OpListOptions): Promise<void> {
    const filter = {
      status: statusFlag('--status', options.status),
      type: textFlag('--type', options.type),
      target: textFlag('--target', options.target),
      createdBy: textFlag('--created-by', options.createdBy),
      since: timeFlag('--since', options.since),
      until: timeFlag('--until', options.until),
      limit: integerFlag('--limit', options.limit, 1, 200) ?? 20,
      cursor: options.cursor,
    };
    const page = await this.operations.list(filter);
    if (options.json) return printJson(page);
    if (page.items.length === 0) return out('no operations\n');
    await out(operationsTable(page.items));
    if (page.nextCursor) await out(`more: --cursor ${page.nextCursor}\n`);
  }

  @Option({ flags: '--status <status>', description: 'only operations in this status' })
  parseStatus(value: string): string {
    return value;
  }

  @Option({ flags: '--type <type>', description: 'only operations of this type' })
  parseType(value: string): string {
    return value;
  }

  @Option({ flags: '--target <target>', description: 'only operations on this target' })
  parseTarget(value: string): string {
    return value;
  }

  @Option({
    flags: '--created-by <actor>',
    description: 'only operations created by this actor, e.g. token:ci or console:alice',
  })
  parseCreatedBy(value: string): string {
    return value;
  }

  @Option({
    flags: '--since <time>',
    description: 'only operations created at or after this ISO 8601 time (2026-12-04T10:00:00Z)',
  })
  parseSince(value: string): string {
    return value;
  }

  @Option({ flags: '--until <time>', description: 'only operations created before this time' })
  parseUntil(value: string): string {
    return value;
  }

  @Option({ flags: '--limit <n>', description: 'how many, 1 to 200 (default 20)' })
  parseLimit(value: string): string {
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
