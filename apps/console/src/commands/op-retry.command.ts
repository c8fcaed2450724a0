import { Command, CommandRunner, Option } from 'nest-commander';
import { CliError } from '../cli-error';
import { ConsoleAudit } from '../console-audit';
import { ConsoleCatalogue } from '../console-catalogue';
import { ConsoleDatabase } from '../console-database';
import { operationId } from '../flags';
import { out, printJson } from '../output';

@Command({
  name: 'op:retry',
  arguments: '<id>',
  description:
    'Start a new attempt of a failed, timed_out, lost or cancelled operation, as POST /operations/:id/retry does',
})
export class OpRetryCommand extends CommandRunner {
  constructor(
    private readonly db: ConsoleDatabase,
    private readonly catalogue: ConsoleCatalogue,
    private readonly audit: ConsoleAudit,
  ) {
    super();
  }

  async run([raw]: string[], options: { json?: boolean }): Promise<void> {
    const id = operationId(raw);
    // Planned through the catalogue as it is now, like the api: a type that is gone or
    // params that no longer fit are refused, naming the field; secret ones stay sealed.
    const view = await (
      await this.db.store()
    ).retry(id, {
      actor: this.audit.actor,
      plan: (original) =>
        this.catalogue.get().planStored({
          type: original.type,
          target: original.target,
          params: original.params,
        }),
    });
    if (!view) throw new CliError(`operation ${id} not found`);
    await this.audit.ok('operation.retry', id, { retryId: view.id, attempt: view.attempt });
    if (options.json) return printJson(view);
    await out(
      `operation ${view.id} ${view.status}: attempt ${view.attempt} of ${view.type} on ${view.target}, retrying ${id}\n`,
    );
  }

  @Option({ flags: '--json', description: 'print the new operation as JSON' })
  parseJson(): boolean {
    return true;
  }
}
