import { BadRequestException, Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { PlanError } from '@app/catalogue';
import { BadCursorError, TokenRequestError } from '@app/database';

/**
 * Request errors found past the ValidationPipe (by the catalogue, the cursor decoder or the
 * token rules)
 * answer 400 in the pipe's own shape: `message` is an array naming the field.
 */
@Catch(PlanError, BadCursorError, TokenRequestError)
export class BadInputFilter extends BaseExceptionFilter {
  override catch(error: PlanError | BadCursorError | TokenRequestError, host: ArgumentsHost): void {
    super.catch(new BadRequestException([error.message]), host);
  }
}
