import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  type HeadersObject,
} from '@nestjs/swagger';

/**
 * Every refusal of the api, whoever answers it (a pipe, a filter, the guard, the middleware
 * of `http/`): Nest's error shape. A 400 from validation lists each field at fault in
 * `message`; the others carry one sentence.
 */
export class ErrorAnswer {
  @ApiProperty({ type: 'integer', example: 400 })
  statusCode!: number;

  @ApiPropertyOptional({
    description:
      "The status's reason phrase; absent where the body parser (413, a 400 for depth or text) or the throttler (429) answers",
    example: 'Bad Request',
  })
  error?: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    description: 'What is wrong: a list naming each field at fault (400), else one sentence',
    example: ['target must be shorter than or equal to 255 characters'],
  })
  message!: string | string[];
}

export const ERROR_STATUSES = [400, 401, 403, 404, 409, 413, 415, 421, 429] as const;
export type ErrorStatus = (typeof ERROR_STATUSES)[number];

const REASONS: Record<ErrorStatus, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  421: 'Misdirected Request',
  429: 'Too Many Requests',
};

/** The headers some refusals carry. */
const HEADERS: Partial<Record<ErrorStatus, HeadersObject>> = {
  401: {
    'WWW-Authenticate': {
      description: 'Bearer realm="aegir", with error="invalid_token" when a token was sent',
      schema: { type: 'string', example: 'Bearer realm="aegir"' },
    },
  },
  429: {
    'Retry-After': {
      description: 'Seconds until the budget of this token (or address) is refilled',
      schema: { type: 'integer', minimum: 1, example: 30 },
    },
  },
};

/** One way a route refuses: when it happens, and what the answer says then. */
export interface Refusal {
  /** When it is answered, e.g. "the operation does not exist". */
  when: string;
  /** The `message` then. */
  message: string | string[];
}

/** `409 Conflict` → the `examples` key. */
const exampleKey = (when: string): string =>
  when
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);

/** The response object of one refusal: the ErrorAnswer schema, its headers, one example. */
export function refusalResponse(status: ErrorStatus, refusal: Refusal) {
  // body-parser's 413 and the throttler's 429 say only statusCode and message
  const value =
    status === 413 || status === 429
      ? { statusCode: status, message: refusal.message }
      : { statusCode: status, error: REASONS[status], message: refusal.message };
  return {
    description: refusal.when,
    headers: HEADERS[status],
    examples: { [exampleKey(refusal.when)]: { summary: refusal.when, value } },
  };
}

/**
 * Documents the refusals a route gives. Several of the same status (from the guard's rule and
 * from the route) are merged: their descriptions joined, their examples side by side.
 */
export function ApiRefusals(refusals: Partial<Record<ErrorStatus, Refusal | Refusal[]>>) {
  const decorators = Object.entries(refusals).flatMap(([code, given]) => {
    const status = Number(code) as ErrorStatus;
    return [given ?? []].flat().map((refusal) =>
      ApiResponse({
        status,
        type: ErrorAnswer,
        ...refusalResponse(status, refusal),
      }),
    );
  });
  return applyDecorators(ApiExtraModels(ErrorAnswer), ...decorators);
}
