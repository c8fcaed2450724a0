import { RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { LoggingSettings } from './logging.settings';

/** JSON logs on stdout (pino), one line per event; credentials in headers are never written. */
export function loggingModule(app: string): DynamicModule {
  return LoggerModule.forRootAsync({
    inject: [LoggingSettings],
    useFactory: (settings: LoggingSettings) => ({
      pinoHttp: {
        name: app,
        level: settings.level,
        redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      },
      // Named wildcard: the default '*' makes Nest 11 warn about legacy route syntax.
      forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    }),
  });
}
