import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { DispatcherModule } from './dispatcher.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.createApplicationContext(DispatcherModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.get(Logger).log('dispatcher ready');
}

bootstrap().catch((error: unknown) => {
  console.error(
    `dispatcher failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
