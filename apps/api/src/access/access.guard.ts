import {
  ForbiddenException,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiTokenRepository, isUnscoped, type TokenRole } from '@app/database';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ACCESS_RULE, DEFAULT_RULE, type AccessRule } from './access.decorators';
import { accessState, type AccessState } from './access-state';
import { ApiThrottlerGuard } from './api-throttler.guard';

const RANK: Record<TokenRole, number> = { viewer: 0, operator: 1, admin: 2 };

const UNAUTHORIZED: Record<NonNullable<AccessState['refusal']>, string> = {
  missing: 'a token is required: send Authorization: Bearer <token>',
  'not a bearer token': 'the Authorization header must be Bearer <token>',
  malformed: 'the token is not valid',
  unknown: 'the token is not valid',
  expired: 'the token has expired',
  revoked: 'the token has been revoked',
};

/**
 * Every route but the public ones: the bearer token is checked (a valid one becomes the
 * request's principal), the rate limit applies (per token, else per address), then 401
 * without a valid token and 403 for a role below the route's.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: ApiTokenRepository,
    private readonly throttler: ApiThrottlerGuard,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const found = this.reflector.getAllAndOverride<AccessRule | 'public' | undefined>(ACCESS_RULE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (found === 'public') return true;
    const rule = found ?? DEFAULT_RULE;
    const http = context.switchToHttp();
    const request = http.getRequest<IncomingMessage>();
    const state = accessState(request);
    state.action = rule.action;
    await this.authenticate(request.headers.authorization, state);
    await this.throttler.canActivate(context);

    const principal = state.principal;
    if (!principal) {
      const refusal = state.refusal ?? 'missing';
      http
        .getResponse<ServerResponse>()
        .setHeader(
          'WWW-Authenticate',
          refusal === 'missing' || refusal === 'not a bearer token'
            ? 'Bearer realm="aegir"'
            : `Bearer realm="aegir", error="invalid_token", error_description="${UNAUTHORIZED[refusal]}"`,
        );
      throw new UnauthorizedException(UNAUTHORIZED[refusal]);
    }
    if (RANK[principal.role] < RANK[rule.role]) {
      throw new ForbiddenException(
        `token ${principal.name} has role ${principal.role}; ${rule.action} needs ${rule.role}`,
      );
    }
    if (rule.unscoped && !isUnscoped(principal)) {
      throw new ForbiddenException(
        `token ${principal.name} is limited to some types or targets; ${rule.action} needs an admin token without a scope`,
      );
    }
    return true;
  }

  private async authenticate(header: string | undefined, state: AccessState): Promise<void> {
    if (header === undefined) {
      state.refusal = 'missing';
      return;
    }
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) {
      state.refusal = 'not a bearer token';
      return;
    }
    const check = await this.tokens.check(match[1]);
    if (check.ok) {
      const { id, name, role, types, targets, expiresAt } = check.token;
      state.principal = { tokenId: id, name, role, types, targets, expiresAt };
    } else {
      state.refusal = check.reason;
      state.claimed = check.token;
    }
  }
}
