import { delimiter } from 'node:path';
import { Command, CommandRunner } from 'nest-commander';
import { AmqpSettings } from '@app/amqp';
import { DatabaseSettings } from '@app/database';
import { localToolsDir } from '@app/platform';
import { BrokerSetupSettings } from '../broker/broker-setup.settings';
import { prepareLocalMachine, projectDir } from '../local-machine';

@Command({
  name: 'setup:local',
  description:
    "Start the local PostgreSQL and RabbitMQ if they are down, enable RabbitMQ's management plugin if its API does not answer, and install ansible-core if it is missing (apt-get as root, else pip into .venv); exit 2 with the commands to run when it cannot",
})
export class SetupLocalCommand extends CommandRunner {
  constructor(
    private readonly database: DatabaseSettings,
    private readonly amqp: AmqpSettings,
    private readonly brokerSetup: BrokerSetupSettings,
  ) {
    super();
  }

  async run(): Promise<void> {
    const prepared = await prepareLocalMachine(this.database, this.amqp, this.brokerSetup);
    const local = localToolsDir(projectDir());
    if (prepared.path.split(delimiter)[0] === local) {
      console.log(`ansible-playbook is in ${local}: put it first on PATH for the apps`);
    }
    console.log('this machine is ready');
  }
}
