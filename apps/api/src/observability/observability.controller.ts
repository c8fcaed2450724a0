import {
  Controller,
  Get,
  Header,
  NotFoundException,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, type HealthCheckResult } from '@nestjs/terminus';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Registry } from 'prom-client';
import { HealthProbe, METRICS_CONTENT_TYPE } from '@app/platform';
import { Public } from '../access/access.decorators';
import { ApiRefusals } from '../docs/error-answers';
import { ApiMetricsSettings } from './metrics.settings';

/**
 * `/metrics`, `/health/live` and `/health/ready`, outside `/api/v1` as on the relay and the
 * dispatcher. None needs an api token (so none reads the database to let a caller in): the
 * health routes are open, `/metrics` takes API_METRICS_TOKEN only.
 */
/** Terminus' answer, for the document. */
const HEALTH_ANSWER = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'error'] },
    info: { type: 'object', additionalProperties: true },
    error: { type: 'object', additionalProperties: true },
    details: { type: 'object', additionalProperties: true },
  },
  example: { status: 'ok', info: { database: { status: 'up' } }, error: {}, details: {} },
};

@ApiTags('observability')
@Controller()
export class ObservabilityController {
  private readonly tokenHash?: Buffer;

  constructor(
    private readonly registry: Registry,
    private readonly probe: HealthProbe,
    settings: ApiMetricsSettings,
  ) {
    if (settings.token !== '') this.tokenHash = sha256(settings.token);
  }

  @Get('metrics')
  @Public()
  @ApiOperation({ summary: "Prometheus' text format; needs the bearer token API_METRICS_TOKEN" })
  @ApiOkResponse({
    description: 'the metrics (README: Metrics and health)',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiRefusals({
    401: {
      when: 'no bearer token, or not API_METRICS_TOKEN',
      message: 'GET /metrics needs the bearer token API_METRICS_TOKEN',
    },
    404: {
      when: 'API_METRICS_TOKEN is not set',
      message: 'metrics are off: set API_METRICS_TOKEN',
    },
  })
  @Header('Content-Type', METRICS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  metrics(@Req() request: IncomingMessage): Promise<string> {
    if (!this.tokenHash) throw new NotFoundException('metrics are off: set API_METRICS_TOKEN');
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    // compared as hashes: equal lengths, and no timing that tells how much of it was right
    if (!match || !timingSafeEqual(sha256(match[1]), this.tokenHash)) {
      throw new UnauthorizedException('GET /metrics needs the bearer token API_METRICS_TOKEN');
    }
    return this.registry.metrics();
  }

  @Get('health/live')
  @Public()
  @ApiOperation({ summary: 'Whether the process answers: open, never rate limited' })
  @ApiOkResponse({ description: 'it answers', schema: HEALTH_ANSWER })
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.probe.live();
  }

  @Get('health/ready')
  @Public()
  @ApiOperation({
    summary: 'Whether the api can work: PostgreSQL answers, the catalogue is loaded',
  })
  @ApiOkResponse({ description: 'ready', schema: HEALTH_ANSWER })
  @ApiResponse({
    status: 503,
    description: 'not ready, or shutting down: `error` names what is down',
    schema: HEALTH_ANSWER,
  })
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.probe.ready();
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
