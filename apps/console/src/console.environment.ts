import { AmqpSettings } from '@app/amqp';
import { CatalogueSettings } from '@app/catalogue';
import { DatabaseSettings } from '@app/database';
import { defineAppEnvironment } from '@app/platform';
import { BrokerSetupSettings } from './broker/broker-setup.settings';
import { ConsoleSealingSettings } from './console-sealer';
import { DemoSettings } from './demo/demo.settings';
import { ApiClientSettings } from './live-log/api-client.settings';

/**
 * The `aegir` CLI's environment: it administers both sides. Its log level is fixed (warnings
 * and errors); the apps `demo` starts read the rest of the environment themselves.
 */
export const consoleEnvironment = defineAppEnvironment({
  app: 'console',
  sections: {
    database: DatabaseSettings,
    amqp: AmqpSettings,
    brokerSetup: BrokerSetupSettings,
    catalogue: CatalogueSettings,
    demo: DemoSettings,
    sealing: ConsoleSealingSettings,
    api: ApiClientSettings,
  },
});
