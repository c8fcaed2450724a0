import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import { DOCS_JSON_PATH, DOCS_PATH } from '../api-prefix';

/**
 * Swagger UI's page: its scripts, styles and images are files of the same origin, plus its
 * inline `<style>` blocks and style attributes. No `upgrade-insecure-requests`: its URLs are
 * relative, so over HTTPS they already are HTTPS, and over plain HTTP the upgrade would break
 * every asset. Nothing else is loosened, and styles from other origins are not allowed.
 */
const DOCS_CSP = {
  useDefaults: false,
  directives: {
    'default-src': ["'self'"],
    'base-uri': ["'self'"],
    'connect-src': ["'self'"],
    'font-src': ["'self'", 'data:'],
    'form-action': ["'self'"],
    'frame-ancestors': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", "'unsafe-inline'"],
  },
};

export function isDocsPath(url: string | undefined): boolean {
  const path = (url ?? '').split('?')[0];
  return (
    path === `/${DOCS_PATH}` || path.startsWith(`/${DOCS_PATH}/`) || path === `/${DOCS_JSON_PATH}`
  );
}

/** helmet's headers on every answer; the docs' own Content-Security-Policy on theirs. */
export function securityHeaders() {
  const api = helmet();
  const docs = helmet({ contentSecurityPolicy: DOCS_CSP });
  return (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) =>
    (isDocsPath(request.url) ? docs : api)(request, response, next);
}
