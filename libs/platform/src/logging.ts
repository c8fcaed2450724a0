import { RequestMethod, type DynamicModule } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Level } from 'pino';
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
  /** Paths besides PROBE_PATHS whose answered requests are not logged (the api's own health). */
  probePaths?: readonly string[];
}

/** Asked every few seconds by orchestrators and Prometheus: a line each would bury the rest. */
export const PROBE_PATHS: readonly string[] = ['/metrics', '/health/live', '/health/ready'];

/**
 * The level of a request's "request completed" line: `error` for a failure (as pino-http
 * does by default), none for a probe answered below 400, else `info`. A refused or failing
 * probe is still logged.
 */
export function requestLogLevel(
  probes: ReadonlySet<string>,
): (request: IncomingMessage, response: ServerResponse, error?: Error) => Level | 'silent' {
  return (request, response, error) => {
    if (error || response.statusCode >= 500) return 'error';
    if (response.statusCode >= 400) return 'info';
    const { originalUrl, url } = request as IncomingMessage & { originalUrl?: string };
    const path = (originalUrl ?? url ?? '').split('?')[0];
    return probes.has(path) ? 'silent' : 'info';
  };
}

/**
 * JSON logs on stdout (pino), one line per event; credentials in headers, request bodies and
 * the SQL parameters of a database error are never written, nor probes that were answered. Every line written while a
 * request is handled carries its `requestId`; its "request completed" line also carries the
 * operation it was about (`requestFields`, `noteRequestLogFields`).
 */
export function loggingModule<S extends object>(
  app: string,
  options: LoggingOptions<S> = {},
): DynamicModule {
  const { appFields, requestFields } = options;
  const probes = new Set([...PROBE_PATHS, ...(options.probePaths ?? [])]);
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
        customLogLevel: requestLogLevel(probes),
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
