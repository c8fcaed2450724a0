import { Module } from '@nestjs/common';
import { AmqpModule } from '@app/amqp';
import { brokerTopology } from '@app/contracts';
import { loggingModule } from '@app/platform';
import { CatalogueModule } from '@app/catalogue';
import { RunnerModule } from '@app/runner';
import { DISPATCHER_CONFIG, dispatcherConfigFromEnv } from './dispatcher.config';
import { DispatchService } from './dispatch.service';

/** The back-end worker: AMQP and the catalogue, never the database. */
@Module({
  imports: [
    loggingModule('aegir-dispatcher'),
    AmqpModule.forRoot('aegir-dispatcher', () => brokerTopology([dispatcherConfigFromEnv().pool])),
    CatalogueModule.forRoot(),
    RunnerModule,
  ],
  providers: [
    { provide: DISPATCHER_CONFIG, useFactory: () => dispatcherConfigFromEnv() },
    DispatchService,
  ],
})
export class DispatcherModule {}
