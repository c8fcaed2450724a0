import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { startAmqpMicroservice } from '@app/amqp';
import { exitOnStartupFailure, runUntilSignalled } from '@app/platform';
import { RelayModule } from './relay.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(await RelayModule.forRoot(), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  await startAmqpMicroservice(app);
  runUntilSignalled(app, 'relay');
}

main().catch(exitOnStartupFailure('relay'));
