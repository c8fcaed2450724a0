import type { ApiTokenView } from '@app/database';
import { formatTime, table } from './format';

/** `active`, `expired` or `revoked`, as of `now`. */
export function tokenState(token: ApiTokenView, now = Date.now()): string {
  if (token.revokedAt) return 'revoked';
  if (token.expiresAt && Date.parse(token.expiresAt) <= now) return 'expired';
  return 'active';
}

export function tokensTable(tokens: ApiTokenView[]): string {
  return table(
    ['NAME', 'ID', 'ROLE', 'TYPES', 'TARGETS', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED'],
    tokens.map((token) => [
      token.name,
      token.id,
      token.role,
      token.types ?? '*',
      token.targets ?? '*',
      tokenState(token),
      formatTime(token.createdAt),
      formatTime(token.expiresAt),
      formatTime(token.lastUsedAt),
    ]),
  );
}
