import { Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  AmqpChannels,
  amqpTransportProvider,
  AmqpModule,
  AmqpTransport,
  brokerReadiness,
  EnvelopeDeserializer,
} from '@app/amqp';
import { brokerTopology, decodeClaim, decodeEvent, EVENT_KINDS, Queues } from '@app/contracts';
import {
  healthProbeProviders,
  loggingModule,
  ObservabilityModule,
  ProbesController,
  SettingsModule,
} from '@app/platform';
import { databaseAnswers, DatabaseModule } from '@app/database';
import { ClaimsController } from './claims.controller';
import { EventBatches } from './event-batches';
import { EventsController } from './events.controller';
import { LostSweeper } from './lost-sweeper';
import { MessageSenders } from './message-senders';
import { OperationOwners } from './operation-owners';
import { RefusedMessages } from './refused-messages';
import { MessageSigner, RELAY_SIGNING_KEY, readSigningKey } from './message-signer';
import { OutboxPublisher } from './outbox-publisher';
import { relayEnvironment } from './relay.environment';
import { RelayMetrics } from './relay-metrics';
import { RelaySettings } from './relay.settings';

/** The front-end worker: the only app that holds both database and broker credentials. */
@Module({
  imports: [
    loggingModule('aegir-relay'),
    DatabaseModule.forRoot({ appName: 'aegir-relay' }),
    AmqpModule.forRoot('aegir-relay', { useFactory: () => ({ expects: brokerTopology([]) }) }),
    ObservabilityModule.forRoot(),
  ],
  controllers: [EventsController, ClaimsController, ProbesController],
  providers: [
    amqpTransportProvider({
      inject: [RelaySettings],
      queues: (config: RelaySettings) => [
        {
          queue: Queues.events,
          prefetch: config.eventsPrefetch,
          patterns: EVENT_KINDS,
          deserializer: new EnvelopeDeserializer(decodeEvent),
        },
        {
          queue: Queues.claims,
          prefetch: CLAIMS_PREFETCH,
          patterns: ['claim'],
          deserializer: new EnvelopeDeserializer(decodeClaim),
        },
      ],
    }),
    ...healthProbeProviders({
      inject: [DataSource, AmqpChannels, AmqpTransport],
      useFactory: (dataSource: DataSource, channels: AmqpChannels, transport: AmqpTransport) => ({
        database: () => databaseAnswers(dataSource),
        broker: brokerReadiness(channels, transport, [Queues.events, Queues.claims]),
      }),
    }),
    RelayMetrics,
    EventBatches,
    OperationOwners,
    MessageSenders,
    RefusedMessages,
    MessageSigner,
    OutboxPublisher,
    LostSweeper,
  ],
})
export class RelayModule {
  /**
   * The relay with its settings and signing key, read now: a bad setting or key file throws
   * ConfigurationError before anything connects.
   */
  static async forRoot(): Promise<DynamicModule> {
    const settings = await SettingsModule.forRoot(relayEnvironment);
    const signingKey = readSigningKey(relayEnvironment.validate(process.env).relay);
    return {
      module: RelayModule,
      imports: [settings],
      providers: [{ provide: RELAY_SIGNING_KEY, useValue: signingKey }],
    };
  }
}

/** Claims decided at once; each is one UPDATE on the pool's connections. */
const CLAIMS_PREFETCH = 200;
