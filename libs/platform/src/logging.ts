import { RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { errorWithoutData, REDACTED_LOG_PATHS } from './log-serializers';
import { LoggingSettings } from './logging.settings';

/**
 * JSON logs on stdout (pino), one line per event; credentials in headers, request bodies and
 * the SQL parameters of a database error are never written.
 */
export function loggingModule(app: string): DynamicModule {
  return LoggerModule.forRootAsync({
    inject: [LoggingSettings],
    useFactory: (settings: LoggingSettings) => ({
      pinoHttp: {
        name: app,
        level: settings.level,
        redact: REDACTED_LOG_PATHS,
        serializers: { err: errorWithoutData },
      },
      // Named wildcard: the default '*' makes Nest 11 warn about legacy route syntax.
      forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    }),
  });
}
