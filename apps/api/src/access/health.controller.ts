import { Controller, Get } from '@nestjs/common';
import { Public } from './access.decorators';

/** Open without a token and never rate limited: it says only that the api answers. */
@Controller('health')
export class HealthController {
  @Get()
  @Public()
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
