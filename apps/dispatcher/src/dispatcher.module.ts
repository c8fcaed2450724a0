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
import { readVerifyingKey, RELAY_VERIFYING_KEY, SignatureVerifier } from './signature-verifier';

/** The back-end worker: AMQP and the catalogue, never the database. */
@Module({
  imports: [
    loggingModule('aegir-dispatcher', {
      appFields: { from: DispatcherSettings, pick: (settings) => ({ dispatcherId: settings.id }) },
    }),
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
    amqpTransportProvider({
      inject: [DispatcherSettings, SignatureVerifier],
      queues: dispatcherQueues,
    }),
    SignatureVerifier,
    DispatchService,
    SecretOpener,
  ],
})
export class DispatcherModule {
  /**
   * The dispatcher with its settings and the relay's public key, read now: a bad setting or
   * key file throws ConfigurationError before anything connects.
   */
  static async forRoot(): Promise<DynamicModule> {
    const settings = await SettingsModule.forRoot(dispatcherEnvironment);
    const key = readVerifyingKey(dispatcherEnvironment.validate(process.env).dispatcher);
    return {
      module: DispatcherModule,
      imports: [settings],
      providers: [{ provide: RELAY_VERIFYING_KEY, useValue: key }],
    };
  }
}
