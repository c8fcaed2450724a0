import { Command, CommandRunner } from 'nest-commander';
import { amqpOptionsFromEnv } from '@app/amqp';
import { redactUrl } from '@app/platform';
import { catalogueOptionsFromEnv, loadCatalogue } from '@app/catalogue';
import { setUpBroker } from '../demo/broker-setup';

@Command({
  name: 'broker:setup',
  description:
    'Declare the exchanges and queues (a quorum queue per catalogue pool, events, dead letters); idempotent',
})
export class BrokerSetupCommand extends CommandRunner {
  async run(): Promise<void> {
    const { url } = amqpOptionsFromEnv();
    const pools = loadCatalogue(catalogueOptionsFromEnv()).pools();
    const topology = await setUpBroker(url, pools);
    console.log(`broker ${redactUrl(url)}: declared`);
    for (const exchange of topology.exchanges)
      console.log(`  exchange ${exchange.name} (${exchange.type})`);
    for (const queue of topology.queues) console.log(`  queue    ${queue.name}`);
  }
}
