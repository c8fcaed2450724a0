import { AmqpSettings } from '@app/amqp';
import { CatalogueSettings } from '@app/catalogue';
import { defineAppEnvironment, LoggingSettings } from '@app/platform';
import { DispatcherSettings } from './dispatcher.settings';

/** The dispatcher's environment: the broker and the catalogue, and never the database. */
export const dispatcherEnvironment = defineAppEnvironment({
  app: 'dispatcher',
  sections: {
    dispatcher: DispatcherSettings,
    amqp: AmqpSettings,
    catalogue: CatalogueSettings,
    logging: LoggingSettings,
  },
  forbidden: [{ prefix: 'DATABASE_', reason: 'the dispatcher never holds database credentials' }],
});
