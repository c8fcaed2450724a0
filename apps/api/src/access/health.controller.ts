import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from './access.decorators';
import { HealthStatus } from './views';

/** Open without a token and never rate limited: it says only that the api answers. */
@ApiTags('health')
@Controller('health')
export class HealthController {
  @Get()
  @Public()
  @ApiOperation({ summary: 'Whether the api answers: open without a token, never rate limited' })
  @ApiOkResponse({ type: HealthStatus })
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
