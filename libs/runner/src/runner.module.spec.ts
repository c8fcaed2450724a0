import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ProcessRunner } from './process-runner';
import { RunnerModule } from './runner.module';

/** A consumer in another module, as the dispatcher is: it gets the runner by injection. */
@Injectable()
class TaskStarter {
  constructor(readonly runner: ProcessRunner) {}
}

@Module({ imports: [RunnerModule], providers: [TaskStarter], exports: [TaskStarter] })
class ConsumerModule {}

describe('RunnerModule', () => {
  it('provides one ProcessRunner to the modules that import it, and it runs processes', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ConsumerModule] }).compile();
    try {
      const runner = moduleRef.get(TaskStarter).runner;
      assert.ok(runner instanceof ProcessRunner);
      assert.equal(moduleRef.get(ProcessRunner), runner);

      const lines: string[] = [];
      const running = runner.run({
        argv: ['/bin/sh', '-c', 'echo "$GREETING"; exit 3'],
        cwd: tmpdir(),
        env: { GREETING: 'hello from the runner' },
        timeoutMs: 10_000,
        killGraceMs: 100,
        onLine: (stream, text) => void lines.push(`${stream}: ${text}`),
      });
      assert.equal(typeof running.pid, 'number');
      const result = await running.result;
      assert.equal(result.outcome, 'exited');
      assert.equal(result.exitCode, 3);
      assert.deepEqual(lines, ['stdout: hello from the runner']);
    } finally {
      await moduleRef.close();
    }
  });
});
