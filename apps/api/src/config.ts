import { logLevelFromEnv, type LogLevel } from '@app/platform';

export interface ApiConfig {
  port: number;
  host: string;
  logLevel: LogLevel;
}

/** Reads and checks the api's settings; a bad value throws an error naming the variable. */
export function apiConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const rawPort = env.API_PORT || '3000';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port < 1 || port > 65535) {
    throw new Error(`API_PORT must be an integer from 1 to 65535, got ${JSON.stringify(rawPort)}`);
  }
  const host = env.API_HOST ?? '127.0.0.1';
  if (host.trim() === '') throw new Error('API_HOST must not be empty');
  return { port, host, logLevel: logLevelFromEnv(env) };
}
