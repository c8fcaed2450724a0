import {
  Controller,
  Get,
  Header,
  NotFoundException,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import { HealthCheck, type HealthCheckResult } from '@nestjs/terminus';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Registry } from 'prom-client';
import { HealthProbe, METRICS_CONTENT_TYPE } from '@app/platform';
import { Public } from '../access/access.decorators';
import { ApiMetricsSettings } from './metrics.settings';

/**
 * `/metrics`, `/health/live` and `/health/ready`, outside `/api/v1` as on the relay and the
 * dispatcher. None needs an api token (so none reads the database to let a caller in): the
 * health routes are open, `/metrics` takes API_METRICS_TOKEN only.
 */
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
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.probe.live();
  }

  @Get('health/ready')
  @Public()
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.probe.ready();
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
