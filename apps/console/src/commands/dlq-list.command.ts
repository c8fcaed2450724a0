import { AmqpSettings } from '@app/amqp';
import { Command, CommandRunner, Option } from 'nest-commander';
import { printable, readDeadLetters } from '../dead-letters';
import { integerFlag } from '../flags';
import { table } from '../format';
import { out, write } from '../output';

interface DlqListOptions {
  limit?: string;
  json?: boolean;
}

@Command({
  name: 'dlq:list',
  description:
    'Show the messages in the dead-letter queue with the reason each was dead-lettered, without removing them',
})
export class DlqListCommand extends CommandRunner {
  constructor(private readonly amqp: AmqpSettings) {
    super();
  }

  async run(_args: string[], options: DlqListOptions): Promise<void> {
    const limit = integerFlag('--limit', options.limit, 1, 1000) ?? 50;
    const page = await readDeadLetters(this.amqp.url, limit);
    if (options.json) {
      for (const message of page.messages) await out(`${JSON.stringify(message)}\n`);
      if (page.messages.length === 0) await write(process.stderr, `${page.queue} is empty\n`);
      return;
    }
    if (page.messages.length === 0) return out(`dead-letter queue ${page.queue} is empty\n`);
    const shown = page.messages.length;
    const more = page.waiting > shown ? `, showing the first ${shown} (--limit)` : '';
    await out(
      `dead-letter queue ${page.queue}: ${page.waiting} message${page.waiting === 1 ? '' : 's'}${more}; none removed\n\n`,
    );
    await out(
      table(
        ['#', 'REASON', 'QUEUE', 'ROUTING KEY', 'TYPE', 'MESSAGE ID', 'BODY'],
        page.messages.map((message, index) => [
          String(index + 1),
          printable(message.reason),
          printable(message.queue ?? '-'),
          printable(message.routingKey || '-'),
          printable(message.type ?? '-'),
          printable(message.messageId ?? '-'),
          `${printable(message.body)}${message.truncated ? ` … (${message.bytes} bytes)` : ''}`,
        ]),
      ),
    );
  }

  @Option({ flags: '--limit <n>', description: 'how many to show, 1 to 1000 (default 50)' })
  parseLimit(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'one JSON object per message' })
  parseJson(): boolean {
    return true;
  }
}
