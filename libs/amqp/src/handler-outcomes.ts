import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';

/**
 * Thrown by a handler that cannot take its message now (it is stopping, or a claim cannot
 * be decided): the message goes back to the queue for another consumer, or for later,
 * instead of being dead-lettered.
 */
export class Redeliver extends Error {
  override readonly name = 'Redeliver';
  constructor(reason: string) {
    super(reason);
  }
}

/** Thrown by a handler that refuses its message for good: dead-lettered with this reason as it is. */
export class Refuse extends Error {
  override readonly name = 'Refuse';
  constructor(reason: string) {
    super(reason);
  }
}

/**
 * Hands a handler's error to the transport as it was thrown. Nest's default filter turns
 * every error into "Internal server error"; the transport needs the error itself, to
 * dead-letter the message with its reason or give it back when it is a Redeliver.
 */
@Catch()
export class HandlerErrorPassthrough implements RpcExceptionFilter {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
