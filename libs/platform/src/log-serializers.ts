import { stdSerializers } from 'pino';

/**
 * What an error carries that may hold request data: a TypeORM QueryFailedError's SQL
 * `parameters` and the driver error under it, and PostgreSQL's `detail`, `where`, and
 * `internalQuery` (a failed key names its value in `detail`).
 */
const DATA_FIELDS = ['parameters', 'driverError', 'detail', 'where', 'internalQuery'] as const;

/**
 * pino's error serializer, less every field that may hold values from a request. The SQL
 * text, the message, the PostgreSQL code and the stack stay: enough to find the fault.
 */
export function errorWithoutData(error: Error): Record<string, unknown> {
  const serialized = stdSerializers.err(error) as unknown as Record<string, unknown>;
  for (const field of DATA_FIELDS) delete serialized[field];
  return serialized;
}

/**
 * pino-http paths never written: credentials in headers and any body a request had (the
 * default request serializer has none; these stay out if one is ever added).
 */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'req.body',
  'res.headers["set-cookie"]',
];
