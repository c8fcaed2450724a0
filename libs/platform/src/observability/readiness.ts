import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import {
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { describeError } from '../bootstrap';
import type { HealthChecks } from '../health-check';

/** The checks `/health/ready` runs, by name: each resolves when what it names answers. */
export const READINESS_CHECKS = Symbol('aegir:readiness-checks');

/** How long one check may take before it counts as down. */
export const READINESS_TIMEOUT_MS = 3000;

/**
 * Liveness and readiness, through @nestjs/terminus. Live: the process answers. Ready: every
 * check of the app passes (its database and/or broker answer, its catalogue is loaded), and
 * the app is not shutting down; otherwise 503 with what failed.
 */
@Injectable()
export class HealthProbe implements BeforeApplicationShutdown {
  private stopping = false;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(READINESS_CHECKS) private readonly checks: HealthChecks,
  ) {}

  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  ready(): Promise<HealthCheckResult> {
    return this.health.check(
      Object.entries(this.checks).map(
        ([name, check]) =>
          () =>
            this.run(name, check),
      ),
    );
  }

  /** Not ready from the moment shutdown begins: a load balancer stops sending work first. */
  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  private async run(name: string, check: () => Promise<void>): Promise<HealthIndicatorResult> {
    const session = this.indicators.check(name);
    if (this.stopping) return session.down({ message: 'shutting down' });
    try {
      await withTimeout(check(), READINESS_TIMEOUT_MS);
      return session.up();
    } catch (error) {
      return session.down({ message: describeError(error) });
    }
  }
}

function withTimeout(check: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([check, timeout]).finally(() => clearTimeout(timer));
}
