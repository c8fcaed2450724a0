import { Command, CommandRunner, Option } from 'nest-commander';
import { POOL_PATTERN } from '@app/contracts';
import { BAD_INPUT, CliError } from '../cli-error';
import { workersTable } from '../format';
import { out, printJson } from '../output';
import { WorkersSource } from '../workers-source';

interface WorkersOptions {
  pool?: string;
  json?: boolean;
}

@Command({
  name: 'workers',
  description:
    'The dispatchers seen by heartbeat: pool, state (alive, or silent past RELAY_LOST_AFTER_MS), what each runs, last seen',
})
export class WorkersCommand extends CommandRunner {
  constructor(private readonly source: WorkersSource) {
    super();
  }

  async run(_args: string[], options: WorkersOptions): Promise<void> {
    if (options.pool !== undefined && !POOL_PATTERN.test(options.pool)) {
      throw new CliError(
        `--pool must match ${POOL_PATTERN.source}, got ${JSON.stringify(options.pool)}`,
        BAD_INPUT,
      );
    }
    const items = await this.source.list({ pool: options.pool });
    if (options.json) return printJson({ items });
    if (items.length === 0) {
      return out(
        options.pool ? `no dispatchers seen in pool ${options.pool}\n` : 'no dispatchers seen\n',
      );
    }
    await out(workersTable(items));
  }

  @Option({ flags: '--pool <pool>', description: 'only the dispatchers of this pool' })
  parsePool(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print {items} as JSON, as GET /api/v1/workers answers' })
  parseJson(): boolean {
    return true;
  }
}
