import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { exitOnStartupFailure, runUntilSignalled } from '@app/platform';
import { DispatcherModule } from './dispatcher.module';

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(DispatcherModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  runUntilSignalled(app, 'dispatcher');
}

main().catch(exitOnStartupFailure('dispatcher'));
