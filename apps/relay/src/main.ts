import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { exitOnStartupFailure, runUntilSignalled } from '@app/platform';
import { RelayModule } from './relay.module';

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(RelayModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  runUntilSignalled(app, 'relay');
}

main().catch(exitOnStartupFailure('relay'));
