import { Command, CommandRunner, Option } from 'nest-commander';
import { ConsoleDatabase } from '../console-database';
import { operationsTable } from '../format';
import { integerFlag, statusFlag } from '../flags';
import { out, printJson } from '../output';

interface OpListOptions {
  status?: string;
  type?: string;
  target?: string;
  limit?: string;
  cursor?: string;
  json?: boolean;
}

@Command({ name: 'op:list', description: 'List operations, newest first' })
export class OpListCommand extends CommandRunner {
  constructor(private readonly db: ConsoleDatabase) {
    super();
  }

  async run(_args: string[], options: OpListOptions): Promise<void> {
    const filter = {
      status: statusFlag('--status', options.status),
      type: options.type,
      target: options.target,
      limit: integerFlag('--limit', options.limit, 1, 200) ?? 20,
      cursor: options.cursor,
    };
    const page = await (await this.db.store()).list(filter);
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
