import type { INestApplicationContext } from '@nestjs/common';
import { Logger } from 'nestjs-pino';

/**
 * Uses the pino logger, then on SIGTERM or SIGINT closes the app (every shutdown hook
 * runs: consumers drain, batches are acked) and exits 0; a failed close exits 1.
 */
export function runUntilSignalled(app: INestApplicationContext, name: string): void {
  const logger = app.get(Logger);
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      logger.log(`${signal}: ${name} shutting down`);
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`${name} did not shut down cleanly: ${describeError(error)}`);
          process.exit(1);
        },
      );
    });
  }
  logger.log(`${name} ready`);
}

/** For `main().catch(...)`: one clear line on stderr, exit 1. */
export function exitOnStartupFailure(name: string): (error: unknown) => never {
  return (error) => {
    process.stderr.write(`aegir ${name} failed to start: ${describeError(error)}\n`);
    process.exit(1);
  };
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
