import { ForbiddenException, NotFoundException } from '@nestjs/common';
import { inScope, isUnscoped } from '@app/database';
import type { IncomingMessage } from 'node:http';
import { accessState } from './access-state';

export const OUTSIDE_SCOPE = "outside the token's types/targets scope";

/** The principal's scope; the guard has run, so there is one. */
function scopeOf(request: IncomingMessage) {
  const principal = accessState(request).principal;
  if (!principal) throw new Error('no principal: the access guard did not run');
  return principal;
}

/** A create, cancel or retry outside the token's scope: 403 naming what is outside. */
export function mustActOn(
  request: IncomingMessage,
  operation: { type: string; target: string },
): void {
  const principal = scopeOf(request);
  if (inScope(principal, operation)) return;
  accessState(request).reason = OUTSIDE_SCOPE;
  throw new ForbiddenException(
    `token ${principal.name} may act only on types ${principal.types ?? '*'} and targets ${principal.targets ?? '*'}; not ${operation.type} on ${operation.target}`,
  );
}

/** A read outside the scope answers exactly as an operation that does not exist. */
export function mustSee(
  request: IncomingMessage,
  operation: { type: string; target: string },
  notFound: () => NotFoundException,
): void {
  if (inScope(scopeOf(request), operation)) return;
  accessState(request).reason = OUTSIDE_SCOPE;
  throw notFound();
}

/** For lists: the scope as a filter, or undefined for a token without one. */
export function scopeFilter(
  request: IncomingMessage,
): ((operation: { type: string; target: string }) => boolean) | undefined {
  const principal = scopeOf(request);
  if (isUnscoped(principal)) return undefined;
  return (operation) => inScope(principal, operation);
}
