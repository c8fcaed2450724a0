import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { API_PREFIX, createApiApp } from './app';
import { apiConfigFromEnv } from './config';

async function main(): Promise<void> {
  const config = apiConfigFromEnv();
  const app = await createApiApp();
  await app.listen(config.port, config.host);
  app.get(Logger).log(`api listening on http://${config.host}:${config.port}/${API_PREFIX}`);
  app.get(Logger).log('api ready');
}

main().catch((error: unknown) => {
  process.stderr.write(`aegir api: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
