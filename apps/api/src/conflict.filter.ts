import { Catch, ConflictException, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { ConflictError } from '@app/database';

/**
 * A request that does not fit the operation's state (cancel a finished operation, retry a
 * running or already retried one) answers 409 `{statusCode, error: 'Conflict', message}`.
 */
@Catch(ConflictError)
export class ConflictFilter extends BaseExceptionFilter {
  override catch(error: ConflictError, host: ArgumentsHost): void {
    super.catch(new ConflictException(error.message), host);
  }
}
