import { AmqpSettings } from '@app/amqp';
import { Command, CommandRunner, Option } from 'nest-commander';
import {
  countActions,
  printOutcomes,
  replayDeadLetters,
  selectorOf,
  StoppedError,
  summary,
  type RunReport,
  type SelectorFlags,
} from '../dead-letter-actions';

interface DlqReplayOptions extends SelectorFlags {
  dryRun?: boolean;
  json?: boolean;
}

@Command({
  name: 'dlq:replay',
  description:
    'Put dead-lettered dispatches and cancels back on the exchange they came from, each removed from the dead-letter queue only once the broker confirmed its copy (exit 1 when a selected one was not replayed)',
})
export class DlqReplayCommand extends CommandRunner {
  constructor(private readonly amqp: AmqpSettings) {
    super();
  }

  async run(_args: string[], options: DlqReplayOptions): Promise<void> {
    const selector = selectorOf(options);
    const dryRun = options.dryRun === true;
    const json = options.json === true;
    let report: RunReport;
    try {
      report = await replayDeadLetters(this.amqp.url, selector, dryRun);
    } catch (error) {
      if (error instanceof StoppedError) await printOutcomes(error.report.outcomes, json);
      throw error;
    }
    const { outcomes, waiting } = report;
    await printOutcomes(outcomes, json);
    const of = `of ${waiting} message${waiting === 1 ? '' : 's'} in the dead-letter queue`;
    if (outcomes.length === 0) {
      await summary(`no dead letter matches (${of})`, json);
      if (selector.queue !== undefined || selector.messageId !== undefined) process.exitCode = 1;
      return;
    }
    await summary(
      `${dryRun ? 'dry run, nothing changed: ' : ''}${countActions(outcomes)} (${of})`,
      json,
    );
    const wanted = dryRun ? 'would replay' : 'replayed';
    if (outcomes.some((entry) => entry.action !== wanted)) process.exitCode = 1;
  }

  @Option({
    flags: '--limit <n>',
    description: 'act on at most this many of the dead letters selected (default all)',
  })
  parseLimit(value: string): string {
    return value;
  }

  @Option({
    flags: '--queue <queue>',
    description: 'only those dead-lettered from this queue, e.g. aegir.dispatch.default',
  })
  parseQueue(value: string): string {
    return value;
  }

  @Option({ flags: '--id <message-id>', description: 'only the one with this message id' })
  parseId(value: string): string {
    return value;
  }

  @Option({ flags: '--dry-run', description: 'say what would be replayed, change nothing' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'one JSON object per dead letter' })
  parseJson(): boolean {
    return true;
  }
}
