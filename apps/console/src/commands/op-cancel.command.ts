import { MAX_CANCEL_REASON_LENGTH } from '@app/database';
import { Command, CommandRunner, Option } from 'nest-commander';
import { CliError } from '../cli-error';
import { operationId } from '../flags';
import { Operations } from '../operations/operations';
import { out, printJson } from '../output';

interface OpCancelOptions {
  reason?: string;
  json?: boolean;
}

@Command({
  name: 'op:cancel',
  arguments: '<id>',
  description:
    'Cancel an operation, as POST /operations/:id/cancel does: a queued one at once, a running one is stopped by its dispatcher',
})
export class OpCancelCommand extends CommandRunner {
  constructor(private readonly operations: Operations) {
    super();
  }

  async run([raw]: string[], options: OpCancelOptions): Promise<void> {
    const id = operationId(raw);
    const reason = options.reason;
    if (reason !== undefined && (reason.length === 0 || reason.length > MAX_CANCEL_REASON_LENGTH)) {
      throw new CliError(`--reason must be 1 to ${MAX_CANCEL_REASON_LENGTH} characters`);
    }
    // A finished operation: `error: operation <id> is already <status>` (the api's 409 alike).
    const view = await this.operations.cancel(id, reason);
    if (options.json) return printJson(view);
    if (view.status === 'cancelled') {
      await out(`operation ${id} cancelled: ${view.reason ?? ''}\n`);
    } else {
      await out(
        `operation ${id} is ${view.status}: cancel sent to dispatcher ${view.dispatcherId ?? '(unknown)'}; it ends cancelled once the dispatcher has stopped it\n`,
      );
    }
  }

  @Option({ flags: '--reason <text>', description: 'why, recorded with the operation' })
  parseReason(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print the operation as JSON' })
  parseJson(): boolean {
    return true;
  }
}
