import { createInterface } from 'node:readline/promises';
import { userOfUrl } from '@app/amqp';
import { BAD_INPUT, CliError, describeError } from './cli-error';
import {
  DeadLetterQueue,
  describeDeadLetter,
  notReplayable,
  printable,
  ReplayError,
  selects,
  type DeadLetter,
  type DeadLetterSelector,
} from './dead-letters';
import { integerFlag } from './flags';
import { table } from './format';
import { out, write } from './output';

/** What dlq:replay or dlq:purge did with one selected dead letter. */
export type DeadLetterAction =
  'replayed' | 'would replay' | 'skipped' | 'failed' | 'purged' | 'would purge';

export interface DeadLetterOutcome {
  action: DeadLetterAction;
  messageId: string | null;
  type: string | null;
  /** The queue it was dead-lettered from. */
  queue: string | null;
  exchange: string | null;
  routingKey: string;
  /** Why it was dead-lettered. */
  reason: string;
  /** Why it was skipped or failed. */
  why?: string;
}

/** The flags both commands share. */
export interface SelectorFlags {
  limit?: string;
  queue?: string;
  id?: string;
}

/** The most a run acts on (and so the most messages held unacknowledged at once). */
export const MAX_SELECTED = 100_000;

const NAME = /^[\x21-\x7e]{1,255}$/;

/** The selector, checked before anything connects: a bad flag needs no broker to be refused. */
export function selectorOf(flags: SelectorFlags): DeadLetterSelector {
  for (const [flag, value] of [
    ['--queue', flags.queue],
    ['--id', flags.id],
  ] as const) {
    if (value !== undefined && !NAME.test(value)) {
      throw new CliError(
        `${flag} must be 1 to 255 printable characters without spaces, got ${JSON.stringify(value)}`,
        BAD_INPUT,
      );
    }
  }
  return {
    limit: integerFlag('--limit', flags.limit, 1, MAX_SELECTED),
    queue: flags.queue,
    messageId: flags.id,
  };
}

const outcome = (
  action: DeadLetterAction,
  letter: DeadLetter,
  why?: string,
): DeadLetterOutcome => ({
  action,
  messageId: letter.messageId,
  type: letter.type,
  queue: letter.queue,
  exchange: letter.exchange,
  routingKey: letter.routingKey,
  reason: letter.reason,
  ...(why === undefined ? {} : { why }),
});

export interface RunReport {
  /** Messages in the dead-letter queue when the run started. */
  waiting: number;
  outcomes: DeadLetterOutcome[];
}

/**
 * Puts the selected dead letters back where they came from, one at a time: each is removed
 * from the dead-letter queue only after the broker confirmed its copy (mandatory, so a copy
 * no queue took is not confirmed as delivered). One that may not be replayed (see
 * notReplayable) or that the broker did not take stays in the dead-letter queue.
 */
export async function replayDeadLetters(
  url: string,
  selector: DeadLetterSelector,
  dryRun: boolean,
): Promise<RunReport> {
  const queue = await DeadLetterQueue.open(url, 'dlq:replay');
  const user = userOfUrl(url);
  const outcomes: DeadLetterOutcome[] = [];
  try {
    for (;;) {
      if (selector.limit !== undefined && outcomes.length >= selector.limit) break;
      const message = await queue.next();
      if (!message) break;
      const letter = describeDeadLetter(message);
      if (!selects(selector, letter)) continue;
      const why = notReplayable(letter);
      if (why !== null) {
        outcomes.push(outcome('skipped', letter, why));
      } else if (dryRun) {
        outcomes.push(outcome('would replay', letter));
      } else {
        try {
          await queue.republish(message, letter.exchange!, user);
        } catch (error) {
          if (!(error instanceof ReplayError)) throw error;
          outcomes.push(outcome('failed', letter, error.message));
          continue;
        }
        queue.remove(message);
        outcomes.push(outcome('replayed', letter));
      }
    }
    await queue.close();
  } catch (error) {
    await queue.abandon();
    throw new StoppedError(error, { waiting: queue.waiting, outcomes });
  }
  return { waiting: queue.waiting, outcomes };
}

/**
 * Removes the selected dead letters for good, once `confirm` (given what will go) says yes.
 * Until then they are only held: a no, or an error, gives every one back.
 */
export async function purgeDeadLetters(
  url: string,
  selector: DeadLetterSelector,
  dryRun: boolean,
  confirm: (selected: RunReport) => Promise<boolean>,
): Promise<RunReport & { confirmed: boolean }> {
  const queue = await DeadLetterQueue.open(url, 'dlq:purge');
  const selected: { message: Parameters<DeadLetterQueue['remove']>[0]; letter: DeadLetter }[] = [];
  try {
    for (;;) {
      if (selector.limit !== undefined && selected.length >= selector.limit) break;
      const message = await queue.next();
      if (!message) break;
      const letter = describeDeadLetter(message);
      if (selects(selector, letter)) selected.push({ message, letter });
    }
    const planned = {
      waiting: queue.waiting,
      outcomes: selected.map(({ letter }) => outcome('would purge', letter)),
    };
    if (dryRun || selected.length === 0 || !(await confirm(planned))) {
      await queue.close();
      return { ...planned, confirmed: false };
    }
    for (const { message } of selected) queue.remove(message);
    // the broker applies the acks before it answers the channel's close
    await queue.close();
    return {
      waiting: queue.waiting,
      outcomes: selected.map(({ letter }) => outcome('purged', letter)),
      confirmed: true,
    };
  } catch (error) {
    await queue.abandon();
    throw new CliError(
      `stopped: ${describeError(error)}; every dead letter is still in ${queue.queue}`,
    );
  }
}

/** A run cut short by the broker: what was done before it, for the report. */
export class StoppedError extends CliError {
  constructor(
    cause: unknown,
    readonly report: RunReport,
  ) {
    super(
      `stopped: ${describeError(cause)}; the dead letters not replayed are back in the dead-letter queue`,
    );
  }
}

/** Asks on the terminal; anything but y or yes is a no. */
export async function askOnTerminal(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(question);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

/** The outcomes as a table (people) or one JSON object per line (scripts). */
export async function printOutcomes(outcomes: DeadLetterOutcome[], json: boolean): Promise<void> {
  if (json) {
    for (const entry of outcomes) await out(`${JSON.stringify(entry)}\n`);
    return;
  }
  if (outcomes.length === 0) return;
  await out(
    table(
      ['ACTION', 'MESSAGE ID', 'TYPE', 'FROM QUEUE', 'TO', 'REASON'],
      outcomes.map((entry) => [
        entry.action,
        printable(entry.messageId ?? '-'),
        printable(entry.type ?? '-'),
        printable(entry.queue ?? '-'),
        entry.exchange === null
          ? '-'
          : printable(`${entry.exchange || '(default)'} ${entry.routingKey || '-'}`),
        printable(entry.why ?? entry.reason),
      ]),
    ),
  );
}

/** How many of each action, for the summary line: `2 replayed, 1 skipped`. */
export function countActions(outcomes: DeadLetterOutcome[]): string {
  const counts = new Map<DeadLetterAction, number>();
  for (const entry of outcomes) counts.set(entry.action, (counts.get(entry.action) ?? 0) + 1);
  return [...counts].map(([action, count]) => `${count} ${action}`).join(', ');
}

/** The summary goes to stderr with --json, so that stdout stays one object per line. */
export async function summary(text: string, json: boolean): Promise<void> {
  if (json) await write(process.stderr, `${text}\n`);
  else await out(`${text}\n`);
}
