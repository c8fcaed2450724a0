import { describeError } from './bootstrap';

/** Named checks of what an app needs; each resolves when its dependency answers. */
export type HealthChecks = Record<string, () => Promise<void>>;

/**
 * A container health check: reads the app's settings (`plan`), runs every check at once,
 * prints one line (Docker keeps it in the container's health log) and exits 0 when all
 * pass within `timeoutMs`, else 1. A bad setting is a failure too, named as at start-up.
 */
export async function runHealthCheck(
  app: string,
  plan: () => HealthChecks,
  timeoutMs = 4000,
): Promise<never> {
  let checks: HealthChecks;
  try {
    checks = plan();
  } catch (error) {
    return report(app, [`settings: ${describeError(error)}`]);
  }
  const names = Object.keys(checks);
  const failures = await Promise.all(
    names.map(async (name) => {
      try {
        await withTimeout(checks[name](), timeoutMs);
        return [];
      } catch (error) {
        return [`${name}: ${describeError(error)}`];
      }
    }),
  );
  return report(app, failures.flat(), names);
}

function report(app: string, failures: string[], passed: string[] = []): never {
  if (failures.length === 0) {
    process.stdout.write(`${app} healthy: ${passed.join(', ')}\n`);
    process.exit(0);
  }
  process.stdout.write(`${app} unhealthy: ${failures.join('; ')}\n`);
  process.exit(1);
}

function withTimeout(check: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([check, timeout]).finally(() => clearTimeout(timer));
}
