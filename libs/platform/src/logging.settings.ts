import { OneOfVariable } from './env-variables';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class LoggingSettings {
  /** pino's level. */
  @OneOfVariable('LOG_LEVEL', LOG_LEVELS)
  readonly level: LogLevel = 'info';
}
