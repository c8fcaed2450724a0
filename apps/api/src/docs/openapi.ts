import type { NestExpressApplication } from '@nestjs/platform-express';
import {
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
  type OperationObject,
  type ResponseObject,
} from '@nestjs/swagger';
import { BEARER_SCHEME } from '../access/access.decorators';
import { DOCS_JSON_PATH, DOCS_PATH } from '../api-prefix';
import { answersAnyHost } from '../http/allowed-hosts';
import { WITH_BODY } from '../http/json-bodies-only';
import { MAX_JSON_BYTES, MAX_JSON_DEPTH } from '../http/json-body-parser';
import { refusalResponse, type ErrorStatus, type Refusal } from './error-answers';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Adds a refusal to an operation's responses, merged with one of the same status. */
function addRefusal(operation: OperationObject, status: ErrorStatus, refusal: Refusal): void {
  const added = refusalResponse(status, refusal);
  const existing = operation.responses[status] as ResponseObject | undefined;
  const json = existing?.content?.['application/json'];
  if (existing && json) {
    existing.description = `${existing.description}\n\n${added.description}`;
    json.examples = { ...json.examples, ...added.examples };
    return;
  }
  operation.responses[status] = {
    description: added.description,
    ...(added.headers ? { headers: added.headers } : {}),
    content: {
      'application/json': {
        schema: { $ref: '#/components/schemas/ErrorAnswer' },
        examples: added.examples,
      },
    },
  };
}

/**
 * What the middleware of `http/` answers before any route is reached, so every route can
 * give it: the Host check (not for health), the query's text, and for a request with a body
 * its media type, size, depth and text.
 */
function addHttpRefusals(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      addRefusal(operation, 400, {
        when: 'a query parameter is named `__proto__`, `constructor` or `prototype`, or holds NUL or an unpaired UTF-16 surrogate',
        message: 'greeting must not contain NUL characters or unpaired UTF-16 surrogates',
      });
      if (!answersAnyHost(path)) {
        addRefusal(operation, 400, {
          when: 'API_ALLOWED_HOSTS is set and the request has no Host header',
          message: 'a Host header is required',
        });
        addRefusal(operation, 421, {
          when: 'API_ALLOWED_HOSTS is set and does not name the Host of the request',
          message: 'host "rebound.example" is not one this api answers to (API_ALLOWED_HOSTS)',
        });
      }
      if (!WITH_BODY.has(method.toUpperCase())) continue;
      addRefusal(operation, 400, {
        when: `the body is not JSON, nests deeper than ${MAX_JSON_DEPTH} levels, holds NUL or an unpaired surrogate, or a \`__proto__\`, \`constructor\` or \`prototype\` key`,
        message: "Expected property name or '}' in JSON at position 1",
      });
      addRefusal(operation, 413, {
        when: `the body is over ${MAX_JSON_BYTES}`,
        message: 'request entity too large',
      });
      addRefusal(operation, 415, {
        when: 'the body is not application/json (a plain HTML form cannot post one)',
        message: 'request bodies must be application/json',
      });
    }
  }
}

/** The OpenAPI document of every route, from the controllers and DTOs. */
export function apiDocument(app: NestExpressApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Aegir Queue')
    .setDescription(
      'Create infrastructure operations from the catalogue, follow their status and logs, manage api tokens and read the audit. Every route but health needs `Authorization: Bearer <token>` (`aegir token:create`, or POST /tokens).',
    )
    .setVersion('1')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'aq_<id>_<secret>',
        description:
          'An api token; its role (viewer, operator, admin) and scope decide what it may do',
      },
      BEARER_SCHEME,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config);
  addHttpRefusals(document);
  return document;
}

/**
 * Swagger UI at /api/docs and the document at /api/docs-json, open without a token like
 * health: the document is the same for every installation (built from the code: no
 * catalogue, host or token in it). The token typed into the UI stays in the page's memory.
 */
export function serveApiDocs(app: NestExpressApplication): void {
  SwaggerModule.setup(DOCS_PATH, app, apiDocument(app), {
    raw: ['json'],
    jsonDocumentUrl: DOCS_JSON_PATH,
    customSiteTitle: 'Aegir Queue api',
    swaggerOptions: { persistAuthorization: false },
  });
}
