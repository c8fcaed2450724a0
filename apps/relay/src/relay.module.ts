import { Module } from '@nestjs/common';
import { AmqpModule } from '@app/amqp';
import { brokerTopology } from '@app/contracts';
import { loggingModule } from '@app/platform';
import { DatabaseModule } from '@app/database';
import { ClaimsConsumer } from './claims-consumer';
import { EventsConsumer } from './events-consumer';
import { LostSweeper } from './lost-sweeper';
import { OutboxPublisher } from './outbox-publisher';
import { RELAY_CONFIG, relayConfigFromEnv } from './relay.config';

/** The front-end worker: the only app that holds both database and broker credentials. */
@Module({
  imports: [
    loggingModule('aegir-relay'),
    DatabaseModule.forRoot({ appName: 'aegir-relay' }),
    AmqpModule.forRoot('aegir-relay', () => brokerTopology([])),
  ],
  providers: [
    { provide: RELAY_CONFIG, useFactory: () => relayConfigFromEnv() },
    OutboxPublisher,
    EventsConsumer,
    ClaimsConsumer,
    LostSweeper,
  ],
})
export class RelayModule {}
