import { SetMetadata } from '@nestjs/common';
import type { TokenRole } from '@app/database';

export const ACCESS_RULE = 'aegir:access';

export interface AccessRule {
  /** The least role that may call the route. */
  role: TokenRole;
  /** What the audit calls it, e.g. `operation.create`. */
  action: string;
  /** Only a token without a types/targets scope (managing tokens, reading the audit). */
  unscoped?: boolean;
}

/** Who may call a route. A route without it is refused to everyone but an unscoped admin. */
export const Access = (rule: AccessRule) => SetMetadata(ACCESS_RULE, rule);

/** A route open without a token (health): no authentication, no rate limit. */
export const Public = () => SetMetadata(ACCESS_RULE, 'public');

export const DEFAULT_RULE: AccessRule = { role: 'admin', action: 'unlisted', unscoped: true };
