import {
  Global,
  Module,
  type DynamicModule,
  type InjectionToken,
  type Provider,
} from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import type { HealthChecks } from '../health-check';
import { createMetricsRegistry } from './metrics-registry';
import { HealthProbe, READINESS_CHECKS } from './readiness';

/**
 * The app's metrics Registry, injected wherever a metric is defined (the apps define their
 * own beside the code they measure), and Terminus for the HealthProbe.
 */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'pretty' })],
      providers: [{ provide: Registry, useFactory: createMetricsRegistry }],
      exports: [Registry, TerminusModule],
    };
  }
}

/**
 * The HealthProbe of an app, with what its `/health/ready` checks, made from what `inject`
 * names: for the app module's own providers, since the checks need the app's own providers.
 */
export function healthProbeProviders(readiness: {
  inject: InjectionToken[];
  useFactory: (...deps: never[]) => HealthChecks;
}): Provider[] {
  return [
    {
      provide: READINESS_CHECKS,
      inject: readiness.inject,
      useFactory: readiness.useFactory as (...deps: unknown[]) => HealthChecks,
    },
    HealthProbe,
  ];
}
