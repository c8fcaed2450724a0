import { Controller, Get, Header } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import { METRICS_CONTENT_TYPE } from './metrics-registry';
import { HealthProbe } from './readiness';

/**
 * `/metrics` and `/health/live`, `/health/ready` on the relay's and the dispatcher's own
 * HTTP port (RELAY_HTTP_PORT, DISPATCHER_HTTP_PORT), open like any exporter's: the port is
 * meant for the monitoring network, not the public one.
 */
@Controller()
export class ProbesController {
  constructor(
    private readonly registry: Registry,
    private readonly probe: HealthProbe,
  ) {}

  @Get('metrics')
  @Header('Content-Type', METRICS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  @Get('health/live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.probe.live();
  }

  @Get('health/ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.probe.ready();
  }
}
