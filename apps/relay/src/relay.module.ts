import { Module } from '@nestjs/common';
import { AmqpModule } from '@app/amqp';
import { loggingModule } from '@app/platform';
import { DatabaseModule } from '@app/database';
import { EventsConsumer } from './events-consumer';
import { OutboxPublisher } from './outbox-publisher';
import { RELAY_CONFIG, relayConfigFromEnv } from './relay.config';

/** The front-end worker: the only app that holds both database and broker credentials. */
@Module({
  imports: [
    loggingModule('aegir-relay'),
    DatabaseModule.forRoot({ appName: 'aegir-relay' }),
    AmqpModule.forRoot('aegir-relay'),
  ],
  providers: [
    { provide: RELAY_CONFIG, useFactory: () => relayConfigFromEnv() },
    OutboxPublisher,
    EventsConsumer,
  ],
})
export class RelayModule {}
