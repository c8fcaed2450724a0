import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { startAmqpMicroservice } from '@app/amqp';
import { exitOnStartupFailure, openProbePort, runUntilSignalled } from '@app/platform';
import { RelayModule } from './relay.module';
import { RelaySettings } from './relay.settings';

async function main(): Promise<void> {
  const app = await NestFactory.create(await RelayModule.forRoot(), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  await startAmqpMicroservice(app);
  const { httpHost, httpPort } = app.get(RelaySettings);
  await openProbePort(app, { host: httpHost, port: httpPort }, 'relay');
  runUntilSignalled(app, 'relay');
}

main().catch(exitOnStartupFailure('relay'));
