import { Command, CommandRunner, Option } from 'nest-commander';
import { CliError } from '../cli-error';
import { ConsoleDatabase } from '../console-database';
import { operationId } from '../flags';
import { operationDetails } from '../format';
import { out, printJson } from '../output';

@Command({
  name: 'op:show',
  arguments: '<id>',
  description: 'Show an operation and its tasks',
})
export class OpShowCommand extends CommandRunner {
  constructor(private readonly db: ConsoleDatabase) {
    super();
  }

  async run([raw]: string[], options: { json?: boolean }): Promise<void> {
    const id = operationId(raw);
    const view = await (await this.db.store()).get(id);
    if (!view) throw new CliError(`operation ${id} not found`);
    if (options.json) return printJson(view);
    await out(operationDetails(view));
  }

  @Option({ flags: '--json', description: 'print the operation as JSON' })
  parseJson(): boolean {
    return true;
  }
}
