import { Module } from '@nestjs/common';
import { amqpTransportProvider, AmqpModule } from '@app/amqp';
import { brokerTopology } from '@app/contracts';
import { loggingModule } from '@app/platform';
import { CatalogueModule } from '@app/catalogue';
import { RunnerModule } from '@app/runner';
import { DISPATCHER_CONFIG, dispatcherConfigFromEnv } from './dispatcher.config';
import { dispatcherQueues } from './dispatcher.queues';
import { DispatchController } from './dispatch.controller';
import { DispatchService } from './dispatch.service';

/** The back-end worker: AMQP and the catalogue, never the database. */
@Module({
  imports: [
    loggingModule('aegir-dispatcher'),
    AmqpModule.forRoot('aegir-dispatcher', () => brokerTopology([dispatcherConfigFromEnv().pool])),
    CatalogueModule.forRoot(),
    RunnerModule,
  ],
  controllers: [DispatchController],
  providers: [
    { provide: DISPATCHER_CONFIG, useFactory: () => dispatcherConfigFromEnv() },
    amqpTransportProvider({ inject: [DISPATCHER_CONFIG], queues: dispatcherQueues }),
    DispatchService,
  ],
})
export class DispatcherModule {}
