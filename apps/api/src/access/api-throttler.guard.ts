import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { IncomingMessage } from 'node:http';
import { accessState, sourceOf } from './access-state';

/**
 * @nestjs/throttler with one budget per token across every route (tracker: the token id),
 * and one per remote address for requests without a valid token. The 429 carries
 * `Retry-After` (the guard sets it for the default throttler).
 */
@Injectable()
export class ApiThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    const principal = accessState(request as unknown as IncomingMessage).principal;
    return Promise.resolve(
      principal
        ? `token:${principal.tokenId}`
        : `address:${sourceOf(request as unknown as IncomingMessage) ?? 'unknown'}`,
    );
  }

  protected override generateKey(
    _context: ExecutionContext,
    tracker: string,
    throttler: string,
  ): string {
    return `${throttler}:${tracker}`;
  }
}
