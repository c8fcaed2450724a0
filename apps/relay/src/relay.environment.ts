import { AmqpSettings } from '@app/amqp';
import { DatabaseSettings } from '@app/database';
import { defineAppEnvironment, LoggingSettings } from '@app/platform';
import { RelaySettings } from './relay.settings';

/** The relay's environment: the only app with both database and broker credentials. */
export const relayEnvironment = defineAppEnvironment({
  app: 'relay',
  sections: {
    relay: RelaySettings,
    database: DatabaseSettings,
    amqp: AmqpSettings,
    logging: LoggingSettings,
  },
});
