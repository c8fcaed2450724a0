import { Module } from '@nestjs/common';
import { amqpTransportProvider, AmqpModule, EnvelopeDeserializer } from '@app/amqp';
import { brokerTopology, decodeClaim, decodeEvent, EVENT_KINDS, Queues } from '@app/contracts';
import { loggingModule } from '@app/platform';
import { DatabaseModule } from '@app/database';
import { ClaimsController } from './claims.controller';
import { EventBatches } from './event-batches';
import { EventsController } from './events.controller';
import { LostSweeper } from './lost-sweeper';
import { OutboxPublisher } from './outbox-publisher';
import { RELAY_CONFIG, relayConfigFromEnv, type RelayConfig } from './relay.config';

/** The front-end worker: the only app that holds both database and broker credentials. */
@Module({
  imports: [
    loggingModule('aegir-relay'),
    DatabaseModule.forRoot({ appName: 'aegir-relay' }),
    AmqpModule.forRoot('aegir-relay', () => brokerTopology([])),
  ],
  controllers: [EventsController, ClaimsController],
  providers: [
    { provide: RELAY_CONFIG, useFactory: () => relayConfigFromEnv() },
    amqpTransportProvider({
      inject: [RELAY_CONFIG],
      queues: (config: RelayConfig) => [
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
    EventBatches,
    OutboxPublisher,
    LostSweeper,
  ],
})
export class RelayModule {}

/** Claims decided at once; each is one UPDATE on the pool's connections. */
const CLAIMS_PREFETCH = 200;
