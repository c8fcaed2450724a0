import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { RelayModule } from './relay.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.createApplicationContext(RelayModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.get(Logger).log('relay ready');
}

bootstrap().catch((error: unknown) => {
  console.error(`relay failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
