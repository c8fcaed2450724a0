import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { TokenRole } from '@app/database';
import { ApiRefusals } from '../docs/error-answers';

export const ACCESS_RULE = 'aegir:access';

/** The security scheme of the OpenAPI document: `Authorization: Bearer <token>`. */
export const BEARER_SCHEME = 'token';

export interface AccessRule {
  /** The least role that may call the route. */
  role: TokenRole;
  /** What the audit calls it, e.g. `operation.create`. */
  action: string;
  /** Only a token without a types/targets scope (managing tokens, reading the audit). */
  unscoped?: boolean;
}

/**
 * Who may call a route. A route without it is refused to everyone but an unscoped admin.
 * Its OpenAPI entry says the same: the bearer token, and the guard's 401, 403 and 429.
 */
export const Access = (rule: AccessRule) =>
  applyDecorators(
    SetMetadata(ACCESS_RULE, rule),
    ApiBearerAuth(BEARER_SCHEME),
    ApiRefusals({
      401: {
        when: 'no token, not a bearer token, or one that is not valid, expired or revoked',
        message: 'a token is required: send Authorization: Bearer <token>',
      },
      // a viewer route takes every role and no scope is refused there: the guard has no 403
      ...(rule.role === 'viewer' && !rule.unscoped
        ? {}
        : {
            403: [
              {
                when: `the token's role is below ${rule.role}`,
                message: `token ci has role viewer; ${rule.action} needs ${rule.role}`,
              },
              ...(rule.unscoped
                ? [
                    {
                      when: 'the token has a types/targets scope',
                      message: `token ci is limited to some types or targets; ${rule.action} needs an admin token without a scope`,
                    },
                  ]
                : []),
            ],
          }),
      429: {
        when: "past the token's rate limit (API_RATE_LIMIT per API_RATE_WINDOW_SECONDS, across every route), or the address's without a valid token",
        message: 'ThrottlerException: Too Many Requests',
      },
    }),
  );

/** A route open without a token (health): no authentication, no rate limit. */
export const Public = () => SetMetadata(ACCESS_RULE, 'public');

export const DEFAULT_RULE: AccessRule = { role: 'admin', action: 'unlisted', unscoped: true };
