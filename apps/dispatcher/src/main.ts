import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { startAmqpMicroservice } from '@app/amqp';
import { exitOnStartupFailure, openProbePort, runUntilSignalled } from '@app/platform';
import { DispatcherModule } from './dispatcher.module';
import { DispatcherSettings } from './dispatcher.settings';

async function main(): Promise<void> {
  // abortOnError off: a provider that refuses to start (a bad key file) ends in one line below
  const app = await NestFactory.create(await DispatcherModule.forRoot(), {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  await startAmqpMicroservice(app);
  const { httpHost, httpPort } = app.get(DispatcherSettings);
  await openProbePort(app, { host: httpHost, port: httpPort }, 'dispatcher');
  runUntilSignalled(app, 'dispatcher');
}

main().catch(exitOnStartupFailure('dispatcher'));
