import type { IncomingMessage } from 'node:http';
import type { ApiTokenView, TokenRefusal, TokenRole } from '@app/database';

/** The token a request was made with, once it has been checked. */
export interface Principal {
  tokenId: string;
  name: string;
  role: TokenRole;
  types: string | null;
  targets: string | null;
  /** When the token stops being accepted (ISO time), or null. */
  expiresAt: string | null;
}

/** What the api learned about a request's access, for the guard, the handlers and the audit. */
export interface AccessState {
  principal?: Principal;
  /** Why the presented credentials were refused: none, not ours, expired, revoked. */
  refusal?: TokenRefusal | 'missing' | 'not a bearer token';
  /** The token a refused request named, when its secret matched (expired, revoked). */
  claimed?: ApiTokenView;
  /** The handler's action, e.g. `operation.create`. */
  action?: string;
  /** Why a request was refused, beyond its answer (a 404 for an operation outside the scope). */
  reason?: string;
  /** The answer's message, for the audit. */
  message?: string;
}

const STATE = Symbol('aegir.access');
type WithState = IncomingMessage & { [STATE]?: AccessState };

export function accessState(request: IncomingMessage): AccessState {
  const carrier = request as WithState;
  carrier[STATE] ??= {};
  return carrier[STATE];
}

/** The principal of a request that AccessGuard let through (every route but health). */
export function principalOf(request: IncomingMessage): Principal {
  const principal = accessState(request).principal;
  if (!principal) throw new Error('no principal: the route is not behind AccessGuard');
  return principal;
}

export const actorOf = (state: AccessState): string =>
  state.principal
    ? `token:${state.principal.name}`
    : state.claimed
      ? `token:${state.claimed.name}`
      : 'anonymous';

/** The remote address (an IPv4 peer without its `::ffff:`). The api trusts no forwarding header. */
export function sourceOf(request: IncomingMessage): string | null {
  const address = request.socket.remoteAddress;
  if (!address) return null;
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
