import { Module, type DynamicModule } from '@nestjs/common';
import { amqpTransportProvider, AmqpModule } from '@app/amqp';
import { brokerTopology } from '@app/contracts';
import { loggingModule, SettingsModule } from '@app/platform';
import { CatalogueModule } from '@app/catalogue';
import { RunnerModule } from '@app/runner';
import { dispatcherEnvironment } from './dispatcher.environment';
import { dispatcherQueues } from './dispatcher.queues';
import { DispatcherSettings } from './dispatcher.settings';
import { DispatchController } from './dispatch.controller';
import { DispatchService } from './dispatch.service';
import { SecretOpener } from './secret-opener';

/** The back-end worker: AMQP and the catalogue, never the database. */
@Module({
  imports: [
    loggingModule('aegir-dispatcher'),
    AmqpModule.forRoot('aegir-dispatcher', {
      inject: [DispatcherSettings],
      useFactory: (settings: DispatcherSettings) => ({
        expects: brokerTopology([settings.pool]),
        appId: settings.id,
      }),
    }),
    CatalogueModule.forRoot(),
    RunnerModule,
  ],
  controllers: [DispatchController],
  providers: [
    amqpTransportProvider({ inject: [DispatcherSettings], queues: dispatcherQueues }),
    DispatchService,
    SecretOpener,
  ],
})
export class DispatcherModule {
  /** The dispatcher with its settings, read from the environment now: a bad one throws ConfigurationError. */
  static async forRoot(): Promise<DynamicModule> {
    return {
      module: DispatcherModule,
      imports: [await SettingsModule.forRoot(dispatcherEnvironment)],
    };
  }
}
