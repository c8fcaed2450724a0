import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AuditLog } from '@app/database';
import { assignRequestId } from '@app/platform';
import { listOf, type ApiAccessSettings } from '../access/access.settings';
import { RefusalBudget, refusalRecorder } from '../access/refusal-recorder';
import { allowedHostsOnly } from './allowed-hosts';
import { allowCorsFrom } from './cors';
import { jsonBodiesOnly } from './json-bodies-only';
import { useJsonBodyParser } from './json-body-parser';
import { queryChecks } from './query-checks';
import { securityHeaders } from './security-headers';

/**
 * What every request meets before a controller, in this order: its id (X-Request-Id, so
 * that even a refused answer carries one); its refusal, if it is refused, recorded in the
 * audit (before the rest, so that it sees every other refusal); the Host checked
 * (API_ALLOWED_HOSTS); CORS only for API_CORS_ORIGINS; security headers (helmet, no
 * X-Powered-By; the docs' page its own CSP); bodies only as application/json; the query's
 * text; the JSON body parser.
 * Call before the app is initialised.
 */
export function hardenHttp(
  app: NestExpressApplication,
  settings: ApiAccessSettings,
  audit: AuditLog,
): void {
  app.use(assignRequestId);
  app.use(refusalRecorder(audit, new RefusalBudget(settings.auditRefusalsPerMinute)));
  app.use(allowedHostsOnly(listOf(settings.allowedHosts)));
  allowCorsFrom(app, listOf(settings.corsOrigins));
  app.disable('x-powered-by');
  app.use(securityHeaders());
  app.use(jsonBodiesOnly());
  app.use(queryChecks());
  useJsonBodyParser(app);
}
