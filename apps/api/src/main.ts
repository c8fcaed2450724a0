import { Logger } from 'nestjs-pino';
import { exitOnStartupFailure, runUntilSignalled } from '@app/platform';
import { API_PREFIX, createApiApp } from './app';
import { apiConfigFromEnv } from './config';

async function main(): Promise<void> {
  const config = apiConfigFromEnv();
  const app = await createApiApp();
  await app.listen(config.port, config.host);
  app.get(Logger).log(`api listening on http://${config.host}:${config.port}/${API_PREFIX}`);
  runUntilSignalled(app, 'api');
}

main().catch(exitOnStartupFailure('api'));
