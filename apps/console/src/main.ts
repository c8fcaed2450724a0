#!/usr/bin/env node
import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { reportError } from './cli-error';
import { ConsoleModule } from './console.module';

/** The `aegir` admin CLI. Errors print as `error: <message>` and exit 1, without a stack. */
async function main(): Promise<void> {
  await CommandFactory.run(await ConsoleModule.forRoot(), {
    logger: ['warn', 'error'],
    abortOnError: false,
    // Commander has already printed its own message (unknown option, missing argument, help).
    errorHandler: (error) => process.exit((error as { exitCode?: number }).exitCode ?? 1),
    serviceErrorHandler: reportError,
  });
}

main().catch(reportError);
