import { Command, CommandRunner, Option } from 'nest-commander';
import { Operations } from '../operations/operations';
import { operationId } from '../flags';
import { operationDetails } from '../format';
import { out, printJson } from '../output';

@Command({
  name: 'op:show',
  arguments: '<id>',
  description: 'Show an operation and its tasks',
})
export class OpShowCommand extends CommandRunner {
  constructor(private readonly operations: Operations) {
    super();
  }

  async run([raw]: string[], options: { json?: boolean }): Promise<void> {
    const id = operationId(raw);
    const view = await this.operations.get(id);
    if (options.json) return printJson(view);
    await out(operationDetails(view));
  }

  @Option({ flags: '--json', description: 'print the operation as JSON' })
  parseJson(): boolean {
    return true;
  }
}
