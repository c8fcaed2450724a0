import { resolve } from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import { AmqpSettings } from '@app/amqp';
import { redactUrl } from '@app/platform';
import { CatalogueSettings, loadCatalogue } from '@app/catalogue';
import { BrokerAdmin } from '../broker/broker-admin';
import { givenPasswords } from '../broker/broker-passwords';
import { setUpBroker } from '../broker/broker-setup';
import { BrokerSetupSettings } from '../broker/broker-setup.settings';
import { writeUrlFiles } from '../broker/url-files';
import { CliError } from '../cli-error';
import { out } from '../output';

interface BrokerSetupOptions {
  out?: string;
  rotate?: boolean;
}

@Command({
  name: 'broker:setup',
  description:
    "As the broker's admin (BROKER_ADMIN_URL, the management API): create AMQP_URL's vhost, a relay, a console and a per-pool dispatcher user with exactly their permissions, and declare the exchanges and queues; idempotent",
})
export class BrokerSetupCommand extends CommandRunner {
  constructor(
    private readonly amqp: AmqpSettings,
    private readonly settings: BrokerSetupSettings,
    private readonly catalogue: CatalogueSettings,
    private readonly admin: BrokerAdmin,
  ) {
    super();
  }

  async run(_args: string[], options: BrokerSetupOptions): Promise<void> {
    const pools = loadCatalogue(this.catalogue).pools();
    const dir = options.out === undefined ? undefined : resolve(options.out);
    if (options.out === '') throw new CliError('--out needs a directory');
    const result = await setUpBroker(this.admin, {
      amqpUrl: this.amqp.url,
      pools,
      passwords: givenPasswords(this.settings),
      rotate: options.rotate === true,
      canKeepGenerated: dir !== undefined,
    });
    const urls = result.users.flatMap((user) =>
      user.url ? [{ role: user.role, url: user.url }] : [],
    );
    if (dir) await writeUrlFiles(dir, urls);

    const lines = [`broker ${redactUrl(this.amqp.url)}: vhost ${result.vhost} set up`];
    for (const exchange of result.topology.exchanges)
      lines.push(`  exchange ${exchange.name} (${exchange.type})`);
    for (const queue of result.topology.queues) lines.push(`  queue    ${queue.name}`);
    for (const user of result.users) {
      const where = user.url && dir ? `, its URL in ${dir}/${user.role}.url` : '';
      lines.push(`  user     ${user.name}: ${user.outcome}${where}`);
    }
    await out(`${lines.join('\n')}\n`);
  }

  @Option({
    flags: '--out <dir>',
    description:
      'write each user whose password this run sets as <dir>/<role>.url (0600, the full AMQP URL); needed when a password is generated',
  })
  parseOut(value: string): string {
    return value;
  }

  @Option({
    flags: '--rotate',
    description: 'generate a new password for every user whose password is not given (needs --out)',
  })
  parseRotate(): boolean {
    return true;
  }
}
