export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ApiConfig {
  port: number;
  host: string;
  logLevel: LogLevel;
}

/** Reads and checks the api's settings; a bad value throws an error naming the variable. */
export function apiConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const rawPort = env.API_PORT ?? '3000';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port < 1 || port > 65535) {
    throw new Error(`API_PORT must be an integer from 1 to 65535, got ${JSON.stringify(rawPort)}`);
  }
  const host = env.API_HOST ?? '127.0.0.1';
  if (host.trim() === '') throw new Error('API_HOST must not be empty');
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new Error(
      `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`,
    );
  }
  return { port, host, logLevel: logLevel as LogLevel };
}
