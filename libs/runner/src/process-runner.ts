import { Injectable } from '@nestjs/common';
import { runProcess, type RunningProcess, type RunOptions } from './run-process';

/**
 * Spawns task processes (see `runProcess`): the one way the apps start a process, injected so
 * that whoever runs tasks gets it from the RunnerModule.
 */
@Injectable()
export class ProcessRunner {
  run(options: RunOptions): RunningProcess {
    return runProcess(options);
  }
}
