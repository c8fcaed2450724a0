import { CatalogueSettings } from '@app/catalogue';
import { DatabaseSettings } from '@app/database';
import { defineAppEnvironment, LoggingSettings } from '@app/platform';
import { ApiAccessSettings } from './access/access.settings';
import { ApiSettings } from './api.settings';
import { ApiMetricsSettings } from './observability/metrics.settings';
import { ApiStreamSettings } from './streams/stream.settings';

/** The api's environment: PostgreSQL and the catalogue, and never the broker. */
export const apiEnvironment = defineAppEnvironment({
  app: 'api',
  sections: {
    api: ApiSettings,
    access: ApiAccessSettings,
    metrics: ApiMetricsSettings,
    streams: ApiStreamSettings,
    database: DatabaseSettings,
    catalogue: CatalogueSettings,
    logging: LoggingSettings,
  },
  forbidden: [{ prefix: 'AMQP_', reason: 'the api never holds broker credentials' }],
});
