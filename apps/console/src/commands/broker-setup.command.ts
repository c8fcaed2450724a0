import { Command, CommandRunner } from 'nest-commander';
import { AmqpSettings } from '@app/amqp';
import { redactUrl } from '@app/platform';
import { CatalogueSettings, loadCatalogue } from '@app/catalogue';
import { setUpBroker } from '../demo/broker-setup';

@Command({
  name: 'broker:setup',
  description:
    'Declare the exchanges and queues (a quorum queue per catalogue pool, events, dead letters); idempotent',
})
export class BrokerSetupCommand extends CommandRunner {
  constructor(
    private readonly amqp: AmqpSettings,
    private readonly catalogue: CatalogueSettings,
  ) {
    super();
  }

  async run(): Promise<void> {
    const { url } = this.amqp;
    const pools = loadCatalogue(this.catalogue).pools();
    const topology = await setUpBroker(url, pools);
    console.log(`broker ${redactUrl(url)}: declared`);
    for (const exchange of topology.exchanges)
      console.log(`  exchange ${exchange.name} (${exchange.type})`);
    for (const queue of topology.queues) console.log(`  queue    ${queue.name}`);
  }
}
