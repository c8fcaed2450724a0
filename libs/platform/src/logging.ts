import { RequestMethod, type DynamicModule } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { LoggerModule } from 'nestjs-pino';
import { definedFields, type LogFields } from './log-fields';
import { errorWithoutData, REDACTED_LOG_PATHS } from './log-serializers';
import { LoggingSettings } from './logging.settings';
import { notedRequestLogFields, requestIdOf } from './request-log';

export interface LoggingOptions<S extends object> {
  /** Fields every line of the app carries, read from one of its settings classes. */
  appFields?: { from: new () => S; pick: (settings: S) => LogFields };
  /** Fields of a request's lines, read from the request itself (the operation its path names). */
  requestFields?: (request: IncomingMessage) => LogFields;
}

/**
 * JSON logs on stdout (pino), one line per event; credentials in headers, request bodies and
 * the SQL parameters of a database error are never written. Every line written while a
 * request is handled carries its `requestId`; its "request completed" line also carries the
 * operation it was about (`requestFields`, `noteRequestLogFields`).
 */
export function loggingModule<S extends object>(
  app: string,
  options: LoggingOptions<S> = {},
): DynamicModule {
  const { appFields, requestFields } = options;
  return LoggerModule.forRootAsync({
    inject: appFields ? [LoggingSettings, appFields.from] : [LoggingSettings],
    useFactory: (settings: LoggingSettings, appSettings?: S) => ({
      pinoHttp: {
        name: app,
        level: settings.level,
        base: {
          pid: process.pid,
          hostname: hostname(),
          ...(appFields && appSettings ? definedFields(appFields.pick(appSettings)) : {}),
        },
        redact: REDACTED_LOG_PATHS,
        serializers: { err: errorWithoutData },
        genReqId: requestIdOf,
        // lines within a request carry its id alone, not every header again
        quietReqLogger: true,
        customAttributeKeys: { reqId: 'requestId' },
        customProps: (request: IncomingMessage) =>
          definedFields({ ...requestFields?.(request), ...notedRequestLogFields(request) }),
      },
      // Named wildcard: the default '*' makes Nest 11 warn about legacy route syntax.
      forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    }),
  });
}
