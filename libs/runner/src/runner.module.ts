import { Module } from '@nestjs/common';
import { ProcessRunner } from './process-runner';

/** Provides the `ProcessRunner` that spawns tasks: process groups, argv only, minimal env. */
@Module({
  providers: [ProcessRunner],
  exports: [ProcessRunner],
})
export class RunnerModule {}
