import { Logger } from 'nestjs-pino';
import { exitOnStartupFailure, runUntilSignalled } from '@app/platform';
import { ApiSettings } from './api.settings';
import { API_PREFIX, createApiApp } from './app';

async function main(): Promise<void> {
  const app = await createApiApp();
  const { port, host } = app.get(ApiSettings);
  await app.listen(port, host);
  app.get(Logger).log(`api listening on http://${host}:${port}/${API_PREFIX}`);
  runUntilSignalled(app, 'api');
}

main().catch(exitOnStartupFailure('api'));
