import { RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { logLevelFromEnv } from './env';

/** JSON logs on stdout (pino), one line per event; credentials in headers are never written. */
export function loggingModule(app: string): DynamicModule {
  return LoggerModule.forRootAsync({
    useFactory: () => ({
      pinoHttp: {
        name: app,
        level: logLevelFromEnv(),
        redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      },
      // Named wildcard: the default '*' makes Nest 11 warn about legacy route syntax.
      forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    }),
  });
}
