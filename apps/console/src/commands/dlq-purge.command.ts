import { AmqpSettings } from '@app/amqp';
import { Command, CommandRunner, Option } from 'nest-commander';
import { BAD_INPUT, CliError } from '../cli-error';
import {
  askOnTerminal,
  countActions,
  printOutcomes,
  purgeDeadLetters,
  selectorOf,
  summary,
  type SelectorFlags,
} from '../dead-letter-actions';

interface DlqPurgeOptions extends SelectorFlags {
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

@Command({
  name: 'dlq:purge',
  description:
    'Remove the selected messages from the dead-letter queue for good (asks first on a terminal; --yes otherwise)',
})
export class DlqPurgeCommand extends CommandRunner {
  constructor(private readonly amqp: AmqpSettings) {
    super();
  }

  async run(_args: string[], options: DlqPurgeOptions): Promise<void> {
    const selector = selectorOf(options);
    const dryRun = options.dryRun === true;
    const json = options.json === true;
    const yes = options.yes === true;
    const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
    if (!yes && !dryRun && !interactive) {
      throw new CliError(
        'dlq:purge removes dead letters for good: pass --yes to confirm (there is no terminal to ask on), or --dry-run to see what it would remove',
        BAD_INPUT,
      );
    }
    const report = await purgeDeadLetters(this.amqp.url, selector, dryRun, async (planned) => {
      if (yes) return true;
      await printOutcomes(planned.outcomes, json);
      const count = planned.outcomes.length;
      return askOnTerminal(
        `remove ${count === 1 ? 'this dead letter' : `these ${count} dead letters`} for good? [y/N] `,
      );
    });
    const { outcomes, waiting } = report;
    const of = `of ${waiting} message${waiting === 1 ? '' : 's'} in the dead-letter queue`;
    if (outcomes.length === 0) {
      await summary(`no dead letter matches (${of}); nothing removed`, json);
      if (selector.queue !== undefined || selector.messageId !== undefined) process.exitCode = 1;
      return;
    }
    if (!report.confirmed && !dryRun) {
      await summary('not confirmed: nothing removed', json);
      process.exitCode = 1;
      return;
    }
    // asked on the terminal: the table was shown before the question
    if (yes || dryRun) await printOutcomes(outcomes, json);
    await summary(
      `${dryRun ? 'dry run, nothing changed: ' : ''}${countActions(outcomes)} (${of})`,
      json,
    );
  }

  @Option({
    flags: '--limit <n>',
    description: 'remove at most this many of the dead letters selected (default all)',
  })
  parseLimit(value: string): string {
    return value;
  }

  @Option({
    flags: '--queue <queue>',
    description: 'only those dead-lettered from this queue, e.g. aegir.events',
  })
  parseQueue(value: string): string {
    return value;
  }

  @Option({ flags: '--id <message-id>', description: 'only the one with this message id' })
  parseId(value: string): string {
    return value;
  }

  @Option({ flags: '-y, --yes', description: 'do not ask: needed when stdin is not a terminal' })
  parseYes(): boolean {
    return true;
  }

  @Option({ flags: '--dry-run', description: 'say what would be removed, change nothing' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'one JSON object per dead letter' })
  parseJson(): boolean {
    return true;
  }
}
