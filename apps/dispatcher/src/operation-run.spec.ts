import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadCatalogue, type Catalogue, type ResolvedTask } from '@app/catalogue';
import {
  logLinesOf,
  MAX_LINE_LENGTH,
  type DispatchMessage,
  type EventMessage,
  type LogLine,
  type LogStream,
  type StatusMessage,
} from '@app/contracts';
import { readSettings, SealingKeys } from '@app/platform';
import {
  ProcessRunner,
  RunnerModule,
  type RunningProcess,
  type RunOptions,
  type RunResult,
} from '@app/runner';
import { Test } from '@nestjs/testing';
import { createTestKeys, type TestKeys } from '../../../test/support/keys';
import { DispatcherSettings } from './dispatcher.settings';
import { OperationEvents } from './operation-events';
import { OperationRun, systemLine, taskOutcome } from './operation-run';
import { SecretOpener } from './secret-opener';

const DISPATCHER_ID = 'disp-test';

/** Every event the run sent, in order; `onEvent` sees each one as it is sent. */
class Recorder {
  readonly events: EventMessage[] = [];
  onEvent: (event: EventMessage) => void = () => undefined;

  /** An `events` group is recorded as the events it carries, in order. */
  readonly send = async (event: EventMessage): Promise<void> => {
    for (const single of event.kind === 'events' ? event.events : [event]) {
      this.events.push(single);
      this.onEvent(single);
    }
  };

  get lines(): LogLine[] {
    return this.events.flatMap((e) =>
      e.kind === 'lines' || e.kind === 'log' ? logLinesOf(e) : [],
    );
  }

  texts(taskId: string | null, stream: LogStream): string[] {
    return this.lines
      .filter((line) => line.taskId === taskId && line.stream === stream)
      .map((line) => line.text);
  }

  get statuses(): StatusMessage[] {
    return this.events.filter((e): e is StatusMessage => e.kind === 'status');
  }

  /** The task's (or, for null, the operation's) statuses in order. */
  statusesOf(taskId: string | null): StatusMessage[] {
    return this.statuses.filter((status) => status.taskId === taskId);
  }

  get final(): StatusMessage {
    const last = this.events.at(-1);
    assert.ok(
      last?.kind === 'status' && last.taskId === null,
      'the last event is the operation status',
    );
    return last;
  }

  indexOf(predicate: (event: EventMessage) => boolean): number {
    const index = this.events.findIndex(predicate);
    assert.notEqual(index, -1);
    return index;
  }

  lastIndexOf(predicate: (event: EventMessage) => boolean): number {
    const index = this.events.findLastIndex(predicate);
    assert.notEqual(index, -1);
    return index;
  }
}

function dispatch(
  type: string,
  taskNames: string[],
  params: Record<string, unknown> = {},
  target = 'web1',
): DispatchMessage {
  return {
    v: 1,
    kind: 'dispatch',
    operationId: randomUUID(),
    type,
    target,
    params,
    tasks: taskNames.map((name) => ({ id: randomUUID(), name })),
    sentAt: new Date().toISOString(),
  };
}

describe('OperationRun', () => {
  let base: string;
  let config: DispatcherSettings;
  let catalogue: Catalogue;
  let runner: ProcessRunner;
  let closeRunnerModule: () => Promise<void>;
  let opener: SecretOpener;
  let sealingKeys: SealingKeys;
  let keys: TestKeys;

  before(async () => {
    // The runner the dispatcher gets: the RunnerModule's, through Nest's injector.
    const moduleRef = await Test.createTestingModule({ imports: [RunnerModule] }).compile();
    runner = moduleRef.get(ProcessRunner);
    closeRunnerModule = () => moduleRef.close();
    base = await mkdtemp(join(tmpdir(), 'aegir-operation-run-'));
    keys = createTestKeys(['default', 'other']);
    sealingKeys = new SealingKeys(keys.dir);
    config = readSettings(DispatcherSettings, {
      ...keys.dispatcherEnv(),
      DISPATCHER_ID,
      DISPATCHER_WORK_DIR: join(base, 'work'),
      DISPATCHER_STATE_DIR: join(base, 'state'),
      DISPATCHER_KILL_GRACE_MS: '500',
    });
    opener = new SecretOpener(config);
    catalogue = loadCatalogue({
      dir: 'test/fixtures/catalogue',
      playbooksDir: 'test/fixtures/playbooks',
    });
  });

  after(async () => {
    await closeRunnerModule();
    await rm(base, { recursive: true, force: true });
    keys?.remove();
  });

  function start(
    message: DispatchMessage,
    options: { catalogue?: Catalogue; config?: DispatcherSettings; runner?: ProcessRunner } = {},
  ): { run: OperationRun; recorder: Recorder } {
    const recorder = new Recorder();
    const runConfig = options.config ?? config;
    const events = new OperationEvents(message.operationId, runConfig.id, recorder.send, {
      batchLines: runConfig.logBatchLines,
      batchMs: runConfig.logBatchMs,
      maxBufferedLines: runConfig.maxBufferedLines,
      batchBytes: runConfig.logBatchBytes,
      maxBufferedBytes: runConfig.maxBufferedBytes,
      onRetry: (error) => assert.fail(`the recorder never refuses: ${String(error)}`),
    });
    const run = new OperationRun(
      message,
      events,
      options.catalogue ?? catalogue,
      runConfig,
      options.runner ?? runner,
      opener,
    );
    return { run, recorder };
  }

  /** Claims and runs the operation to its end. */
  async function runToEnd(message: DispatchMessage, options = {}) {
    const { run, recorder } = start(message, options);
    const plan = await run.claim();
    assert.ok(plan, 'claimed');
    const status = await run.run(plan);
    return { status, recorder };
  }

  it('test.fail: stops at the failing task, cancels the rest and reports why', async () => {
    const message = dispatch('test.fail', ['first', 'second', 'third']);
    const [first, second, third] = message.tasks.map((task) => task.id);
    const { run, recorder } = start(message);

    const plan = await run.claim();
    assert.ok(plan);
    assert.equal(recorder.events.length, 1);
    assert.deepEqual(
      recorder.statuses.map((s) => [s.taskId, s.status, s.operationId, s.dispatcherId]),
      [[null, 'running', message.operationId, DISPATCHER_ID]],
    );

    assert.equal(await run.run(plan), 'failed');

    assert.deepEqual(
      recorder.statusesOf(first).map((s) => [s.status, s.exitCode]),
      [
        ['running', undefined],
        ['succeeded', 0],
      ],
    );
    assert.deepEqual(
      recorder.statusesOf(second).map((s) => [s.status, s.exitCode, s.reason]),
      [
        ['running', undefined, undefined],
        ['failed', 3, 'exited with code 3'],
      ],
    );
    const thirdStatuses = recorder.statusesOf(third);
    assert.deepEqual(
      thirdStatuses.map((s) => s.status),
      ['cancelled'],
    );
    assert.match(thirdStatuses[0].reason!, /not run/);
    assert.ok(!recorder.lines.some((line) => line.text.includes('third-ran')));
    assert.ok(!recorder.lines.some((line) => line.taskId === third));

    assert.deepEqual(recorder.texts(first, 'stdout'), ['first-1', 'first-2']);
    assert.deepEqual(recorder.texts(second, 'stdout'), ['second-out']);
    assert.deepEqual(recorder.texts(second, 'stderr'), ['second-err']);
    assert.deepEqual(
      recorder.lines.map((line) => line.seq),
      recorder.lines.map((_, i) => i + 1),
    );

    const final = recorder.final;
    assert.equal(final.status, 'failed');
    assert.equal(final.exitCode, 3);
    assert.match(final.reason!, /task "second"/);
    assert.equal(final.lineCount, recorder.lines.length);
    assert.deepEqual(await readdir(config.workDir), [], 'the workspace is removed');
  });

  it('spawns each task it runs through the runner it is given, with its limits', async () => {
    const spawned: RunOptions[] = [];
    class RecordingRunner extends ProcessRunner {
      override run(options: RunOptions): RunningProcess {
        spawned.push(options);
        return super.run(options);
      }
    }
    const message = dispatch('test.fail', ['first', 'second', 'third']);
    const { status } = await runToEnd(message, { runner: new RecordingRunner() });
    assert.equal(status, 'failed');
    assert.deepEqual(
      spawned.map((options) => [options.argv, options.timeoutMs, options.killGraceMs]),
      [
        [['sh', '-c', 'echo first-1; echo first-2'], 30_000, 500],
        [['sh', '-c', 'echo second-out; echo second-err >&2; exit 3'], 30_000, 500],
      ],
      'the third task is never spawned',
    );
    assert.equal(spawned[0].env.AEGIR_TASK, 'first');
    assert.equal(spawned[0].env.AMQP_URL, undefined);
  });

  it('test.lines: 5000 lines arrive complete and in order, between running and succeeded', async () => {
    const message = dispatch('test.lines', ['lines'], { count: 5000 });
    const taskId = message.tasks[0].id;
    const { status, recorder } = await runToEnd(message);

    assert.equal(status, 'succeeded');
    const expected = Array.from({ length: 5000 }, (_, i) => `line ${i + 1}`);
    assert.deepEqual(recorder.texts(taskId, 'stdout'), expected);
    assert.deepEqual(recorder.texts(taskId, 'stderr'), []);

    const hasStdout = (e: EventMessage) =>
      (e.kind === 'lines' || e.kind === 'log') &&
      logLinesOf(e).some((line) => line.stream === 'stdout');
    const isStatus = (taskId: string | null, status: string) => (e: EventMessage) =>
      e.kind === 'status' && e.taskId === taskId && e.status === status;
    const order = [
      recorder.indexOf(isStatus(null, 'running')),
      recorder.indexOf(isStatus(taskId, 'running')),
      recorder.indexOf(hasStdout),
      recorder.lastIndexOf(hasStdout),
      recorder.indexOf(isStatus(taskId, 'succeeded')),
      recorder.indexOf(isStatus(null, 'succeeded')),
    ];
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      `event order ${order.join(' < ')}`,
    );
    assert.equal(new Set(order).size, order.length);
    assert.equal(recorder.final.status, 'succeeded');
    assert.equal(recorder.final.lineCount, recorder.lines.length);
    assert.ok(recorder.lines.length >= 5000);
    assert.deepEqual(await readdir(config.workDir), []);
  });

  it('demo.hello: runs the real playbook with ansible-playbook', async () => {
    const message = dispatch('demo.hello', ['hello'], { greeting: 'Bonjour' }, 'site-7');
    const { status, recorder } = await runToEnd(message);
    const output = recorder.lines.map((line) => line.text).join('\n');

    assert.equal(status, 'succeeded', output);
    assert.match(output, /Bonjour, site-7!/);
    assert.match(output, /PLAY RECAP/);
    assert.match(
      output,
      new RegExp(`operation ${message.operationId} \\(demo.hello\\), task hello`),
    );
    assert.equal(await readFile(join(config.stateDir, 'site-7', 'hello.txt'), 'utf8'), 'Bonjour\n');
    assert.equal(recorder.final.lineCount, recorder.lines.length);
  });

  const unrunnable: [string, DispatchMessage][] = [
    ['an unknown type', dispatch('no.such.type', ['one', 'two'])],
    ['an unknown task name', dispatch('test.fail', ['first', 'rm-everything'])],
    ['params that break the schema', dispatch('test.lines', ['lines'], { count: 'abc' })],
    [
      'params the schema does not know',
      dispatch('test.echo', ['echo'], { message: 'hi', ansible_become: true }),
    ],
    ['a target that is no host name', dispatch('test.echo', ['echo'], { message: 'hi' }, '../etc')],
  ];
  for (const [what, message] of unrunnable) {
    it(`never runs ${what}: fails the operation and cancels every task`, async () => {
      const { run, recorder } = start(message);
      assert.equal(await run.claim(), null);

      assert.deepEqual(
        recorder.statuses.map((s) => [s.taskId, s.status]),
        [...message.tasks.map((task) => [task.id, 'cancelled']), [null, 'failed']],
      );
      const final = recorder.final;
      assert.match(final.reason!, new RegExp(`^cannot run on dispatcher ${DISPATCHER_ID}: `));
      assert.equal(final.lineCount, 0);
      assert.deepEqual(recorder.lines, []);
      for (const status of recorder.statuses.slice(0, -1))
        assert.equal(status.reason, final.reason);
    });
  }

  it('names the field at fault when params break the schema', async () => {
    const { run, recorder } = start(dispatch('test.lines', ['lines'], { count: 'abc' }));
    assert.equal(await run.claim(), null);
    assert.match(recorder.final.reason!, /params\.count/);
  });

  const stopMoments: [string, (event: EventMessage, taskId: string) => boolean, number][] = [
    [
      'as soon as the task reports running (before its process starts)',
      (event, taskId) =>
        event.kind === 'status' && event.taskId === taskId && event.status === 'running',
      0,
    ],
    [
      'once its process runs',
      (event) =>
        (event.kind === 'lines' || event.kind === 'log') &&
        logLinesOf(event).some((l) => l.text.startsWith('== task')),
      200,
    ],
  ];
  for (const [moment, isStartEvent, settleMs] of stopMoments) {
    it(`stop() ${moment}: ends the task within ~2 s and cancels the operation`, async () => {
      const message = dispatch('test.sleep', ['sleep'], { seconds: 30 });
      const taskId = message.tasks[0].id;
      const { run, recorder } = start(message);
      let taskStarted!: () => void;
      const started = new Promise<void>((resolve) => (taskStarted = resolve));
      recorder.onEvent = (event) => {
        if (isStartEvent(event, taskId)) taskStarted();
      };
      const plan = await run.claim();
      assert.ok(plan);
      const finished = run.run(plan);
      await started;
      await sleep(settleMs);
      const stoppedAt = Date.now();
      run.stop('cancelled by test');

      assert.equal(await finished, 'cancelled');
      const tookMs = Date.now() - stoppedAt;
      assert.ok(tookMs < 2000, `ended ${tookMs} ms after stop`);
      assert.deepEqual(
        recorder.statusesOf(taskId).map((s) => s.status),
        ['running', 'cancelled'],
      );
      assert.match(recorder.statusesOf(taskId)[1].reason!, /cancelled by test/);
      assert.equal(recorder.final.status, 'cancelled');
      assert.match(recorder.final.reason!, /cancelled by test/);
      assert.deepEqual(await readdir(config.workDir), []);
    });
  }

  it('stop() before run(): no task runs, every one is cancelled', async () => {
    const message = dispatch('test.fail', ['first', 'second', 'third']);
    const { run, recorder } = start(message);
    const plan = await run.claim();
    assert.ok(plan);
    run.stop('shut down');
    assert.equal(await run.run(plan), 'cancelled');

    assert.deepEqual(
      recorder.statuses.map((s) => [s.taskId, s.status, s.reason]),
      [
        [null, 'running', undefined],
        ...message.tasks.map((task) => [task.id, 'cancelled', 'not run: shut down']),
        [null, 'cancelled', 'shut down'],
      ],
    );
    assert.deepEqual(recorder.lines, []);
  });

  it('a workspace that cannot be made fails the operation and cancels every task', async () => {
    const notADirectory = join(base, 'a-file');
    await writeFile(notADirectory, '');
    const brokenConfig = { ...config, workDir: notADirectory };
    const message = dispatch('test.fail', ['first', 'second', 'third']);
    const { status, recorder } = await runToEnd(message, { config: brokenConfig });

    assert.equal(status, 'failed');
    assert.match(recorder.final.reason!, /^dispatcher error: /);
    for (const task of message.tasks) {
      assert.deepEqual(
        recorder.statusesOf(task.id).map((s) => s.status),
        ['cancelled'],
        'no task is left queued',
      );
    }
  });

  it('a task that cannot be prepared fails, and the tasks after it are cancelled', async () => {
    // A catalogue that resolves to a task the runner refuses to prepare.
    const relativePlaybook: ResolvedTask = {
      name: 'broken',
      runner: 'ansible-playbook',
      timeoutSeconds: 30,
      playbookPath: 'relative/site.yml',
      inventory: 'localhost',
    };
    const stub = {
      resolveTask: () => relativePlaybook,
      get: () => ({ secretParams: [] }),
    } as unknown as Catalogue;
    const message = dispatch('stub.type', ['broken', 'after']);
    const [broken, later] = message.tasks.map((task) => task.id);
    const { status, recorder } = await runToEnd(message, { catalogue: stub });

    assert.equal(status, 'failed');
    assert.deepEqual(
      recorder.statusesOf(broken).map((s) => s.status),
      ['running', 'failed'],
      'the task in hand is not left running',
    );
    assert.match(recorder.statusesOf(broken)[1].reason!, /playbookPath must be absolute/);
    assert.deepEqual(
      recorder.statusesOf(later).map((s) => s.status),
      ['cancelled'],
    );
    assert.match(recorder.final.reason!, /^dispatcher error: .*playbookPath must be absolute/);
    assert.deepEqual(await readdir(config.workDir), []);
  });

  describe('hostile output, from real processes', () => {
    // Tasks run without a shell: a 200 000-character line, a NUL and an invalid UTF-8 byte, colours.
    const tasks: Record<string, string[]> = {
      long: ['python3', '-c', 'print("x" * 200000)'],
      hostile: ['printf', 'a\\0b\\xffc\\n'],
      colour: ['printf', '\\033[1;31mred\\033[0m plain\\a\\tend\\r\\n'],
    };
    const stub = {
      resolveTask: (_context: unknown, name: string): ResolvedTask => ({
        name,
        runner: 'command',
        timeoutSeconds: 30,
        argv: tasks[name],
      }),
      get: () => ({ secretParams: [] }),
    } as unknown as Catalogue;

    async function runHostile(ansi?: 'keep' | 'strip') {
      const message = dispatch('stub.hostile', ['long', 'hostile', 'colour']);
      const runConfig = readSettings(DispatcherSettings, {
        ...keys.dispatcherEnv(),
        DISPATCHER_WORK_DIR: config.workDir,
        DISPATCHER_STATE_DIR: config.stateDir,
        ...(ansi && { DISPATCHER_ANSI: ansi }),
      });
      const { status, recorder } = await runToEnd(message, { catalogue: stub, config: runConfig });
      assert.equal(status, 'succeeded');
      const [long, hostile, colour] = message.tasks.map((task) => task.id);
      const stdout = (taskId: string) =>
        recorder.lines.filter((line) => line.taskId === taskId && line.stream === 'stdout');
      return { recorder, long: stdout(long), hostile: stdout(hostile), colour: stdout(colour) };
    }

    it('splits the long line into marked pieces and replaces NUL and invalid UTF-8', async () => {
      const { recorder, long, hostile } = await runHostile();
      assert.deepEqual(
        long.map((line) => [line.text.length, line.continues]),
        [
          [65536, true],
          [65536, true],
          [65536, true],
          [200_000 - 3 * 65536, undefined],
        ],
      );
      assert.equal(long.map((line) => line.text).join(''), 'x'.repeat(200_000));
      assert.deepEqual(
        long.map((line) => line.seq),
        [0, 1, 2, 3].map((i) => long[0].seq + i),
        'the pieces are consecutive lines',
      );
      assert.deepEqual(
        hostile.map((line) => line.text),
        ['a\uFFFDb\uFFFDc'],
      );
      assert.equal(
        recorder.lines.filter((line) => 'continues' in line).length,
        3,
        'only the pieces carry continues',
      );
      assert.deepEqual(
        recorder.lines.map((line) => line.seq),
        recorder.lines.map((_, i) => i + 1),
      );
      assert.equal(recorder.final.lineCount, recorder.lines.length);
    });

    it('strips ANSI escapes by default', async () => {
      const { colour } = await runHostile();
      assert.deepEqual(
        colour.map((line) => line.text),
        ['red plain\tend'],
      );
    });

    it('keeps ANSI escapes with DISPATCHER_ANSI=keep', async () => {
      const { colour, hostile } = await runHostile('keep');
      assert.deepEqual(
        colour.map((line) => line.text),
        ['\x1b[1;31mred\x1b[0m plain\x07\tend'],
      );
      assert.deepEqual(
        hostile.map((line) => line.text),
        ['a\uFFFDb\uFFFDc'],
      );
    });
  });

  describe('bounds', () => {
    let bounded: Catalogue;
    before(async () => {
      const dir = join(base, 'bounded-catalogue');
      await mkdir(dir, { recursive: true });
      await writeFile(
        join(dir, 'x.yes.yml'),
        [
          'name: x.yes',
          'description: prints y forever',
          'maxOutputBytes: 200000',
          'tasks:',
          '  - { name: flood, runner: command, argv: [yes] }',
          '  - { name: after, runner: command, argv: [echo, after] }',
          '',
        ].join('\n'),
      );
      await writeFile(
        join(dir, 'x.say.yml'),
        [
          'name: x.say',
          'description: prints its param',
          'params: { type: object, required: [text], properties: { text: { type: string } } }',
          'tasks:',
          "  - { name: say, runner: command, argv: [echo, '{{ params.text }}'] }",
          '',
        ].join('\n'),
      );
      const playbooks = join(base, 'bounded-playbooks');
      await mkdir(playbooks, { recursive: true });
      const play = (hosts: string) =>
        `- hosts: ${hosts}\n  connection: local\n  gather_facts: false\n  tasks:\n` +
        `    - debug:\n        msg: "host=[{{ inventory_hostname }}] type={{ inventory_hostname | type_debug }}"\n`;
      await writeFile(join(playbooks, 'target.yml'), play("'{{ aegir.target }}'"));
      await writeFile(join(playbooks, 'nowhere.yml'), play('no_such_group'));
      for (const name of ['target', 'nowhere']) {
        await writeFile(
          join(dir, `x.${name}.yml`),
          [
            `name: x.${name}`,
            'description: a play on the target',
            'tasks:',
            `  - { name: play, runner: ansible-playbook, playbook: ${name}.yml, inventory: target, timeout: 120 }`,
            '',
          ].join('\n'),
        );
      }
      bounded = loadCatalogue({ dir, playbooksDir: playbooks });
    });

    it("stops a task whose output passes the type's maxOutputBytes, and fails the operation with that reason", async () => {
      const message = dispatch('x.yes', ['flood', 'after']);
      const [flood, next] = message.tasks.map((task) => task.id);
      const started = Date.now();
      const { status, recorder } = await runToEnd(message, { catalogue: bounded });
      assert.equal(status, 'failed');
      assert.ok(Date.now() - started < 10_000, 'stopped at once');
      const reason = 'output passed maxOutputBytes (200000 bytes); stopped';
      assert.equal(recorder.final.reason, `task "flood": ${reason}`);
      assert.equal(recorder.statusesOf(flood).at(-1)?.reason, reason);
      assert.equal(recorder.statusesOf(next).at(-1)?.status, 'cancelled');
      const bytes = recorder.lines.reduce((sum, line) => sum + Buffer.byteLength(line.text), 0);
      assert.ok(bytes > 200_000 && bytes < 200_100, `${bytes} bytes kept`);
      assert.equal(recorder.final.lineCount, recorder.lines.length, 'no seq skipped');
    });

    it('keeps every valid target a string in the inventory: the play runs on that very host (ansible-playbook)', async () => {
      for (const target of ['yes', '1_000', '0b11', 'null', 'on', 'No', '0x1F', '1e3', '010']) {
        const { status, recorder } = await runToEnd(dispatch('x.target', ['play'], {}, target), {
          catalogue: bounded,
        });
        const output = recorder.lines.map((line) => line.text).join('\n');
        assert.equal(status, 'succeeded', `${target}: ${output}`);
        assert.match(
          output,
          new RegExp(`"msg": "host=\\[${target}\\] type=(str|AnsibleUnicode|_AnsibleTaggedStr)"`),
          target,
        );
      }
    });

    it('fails an operation whose play matched no host, saying so (ansible-playbook)', async () => {
      const message = dispatch('x.nowhere', ['play'], {}, 'web1');
      const { status, recorder } = await runToEnd(message, { catalogue: bounded });
      assert.equal(status, 'failed');
      assert.equal(
        recorder.final.reason,
        'task "play": a play matched no host (target "web1"), so it ran nothing',
      );
    });

    it('system lines escape C1 controls and bidi overrides, and fit the wire', () => {
      assert.equal(systemLine('a\u009b2Jb\u202ec'), 'a\\x9b2Jb\\u202ec');
      const long = systemLine('z'.repeat(MAX_LINE_LENGTH + 10));
      assert.equal(long.length, MAX_LINE_LENGTH);
      assert.ok(long.endsWith('…'));
    });

    it('writes the command line with control characters from params escaped', async () => {
      const message = dispatch('x.say', ['say'], { text: 'a\u001b]0;owned\u0007b\u001b[2J c' });
      const { recorder } = await runToEnd(message, { catalogue: bounded });
      const system = recorder.lines.filter((line) => line.stream === 'system').map((l) => l.text);
      // quoted as JSON, which escapes every C0 control; the rest are escaped too
      assert.equal(system[0], '== task say: echo "a\\u001b]0;owned\\u0007b\\u001b[2J c"');
      assert.ok(
        // eslint-disable-next-line no-control-regex -- finding control characters is the point
        system.every((line) => !/[\u0000-\u001f\u007f-\u009f]/.test(line)),
        system.join('|'),
      );
    });
  });

  describe('sealed secrets', () => {
    const password = `pw-"quoted"-${randomUUID()}`;
    const sealedFor = async (pool: string, param = 'password') =>
      sealingKeys.seal({ pool, param }, password);
    /** The claim reports the operation failed, and no plan to run. */
    const refused = async (message: DispatchMessage) => {
      const { run, recorder } = start(message);
      assert.equal(await run.claim(), null);
      assert.equal(recorder.final.status, 'failed');
      return recorder;
    };

    it('opens the secret for the task, masks it in every line and leaves no vars file', async () => {
      await mkdir(config.stateDir, { recursive: true });
      const message = dispatch('test.secret', ['show', 'after'], {
        user: 'admin',
        password: await sealedFor('default'),
      });
      const { status, recorder } = await runToEnd(message);
      assert.equal(status, 'succeeded', recorder.lines.map((line) => line.text).join('\n'));
      const [show, after] = message.tasks.map((task) => task.id);
      const all = recorder.lines.map((line) => line.text).join('\n');
      assert.ok(!all.includes(password), 'the value is in no line');
      assert.ok(!all.includes(JSON.stringify(password).slice(1, -1)), 'nor its JSON form');
      const stdout = recorder.texts(show, 'stdout');
      assert.ok(
        stdout.some((line) => line.includes('"msg": "user admin has password ********"')),
        stdout.join('\n'),
      );
      assert.ok(
        stdout.some((line) => line.includes('"password": "********"')),
        stdout.join('\n'),
      );
      // the task had the exact value: the playbook kept its digest
      const digest = await readFile(join(config.stateDir, 'secret.sha256'), 'utf8');
      assert.equal(digest.trim(), createHash('sha256').update(password).digest('hex'));
      // the next task runs in the same workspace: the playbook's extra-vars.json is gone
      const listed = recorder.texts(after, 'stdout');
      assert.ok(listed.includes('vars.json'), listed.join(' '));
      assert.ok(!listed.includes('extra-vars.json'), listed.join(' '));
      const varsFile = /vars file (\S+)"/.exec(stdout.join('\n'))?.[1];
      assert.ok(varsFile, 'the playbook named its vars file');
      await assert.rejects(readFile(varsFile), { code: 'ENOENT' });
    });

    it('fails, naming the param and not the value, a secret sealed for another pool', async () => {
      const message = dispatch('test.secret', ['show', 'after'], {
        password: await sealedFor('other'),
      });
      const recorder = await refused(message);
      assert.match(
        recorder.final.reason!,
        /^cannot run on dispatcher disp-test: params\.password is sealed for pool "other", not for pool default$/,
      );
      assert.deepEqual(
        recorder.statuses.filter((e) => e.taskId !== null).map((e) => e.status),
        ['cancelled', 'cancelled'],
        'no task ran',
      );
    });

    it('fails a secret moved to another param, altered, or not sealed', async () => {
      const moved = await sealedFor('default', 'user');
      const parts = (await sealedFor('default')).sealed.split('.');
      parts[3] = parts[3].startsWith('A') ? `B${parts[3].slice(1)}` : `A${parts[3].slice(1)}`;
      const cases: [unknown, RegExp][] = [
        [moved, /params\.password holds a value sealed for another parameter$/],
        [
          { sealed: parts.join('.') },
          /params\.password cannot be opened with this dispatcher's sealing key/,
        ],
        [password, /params\.password is a secret: it must be stored sealed/],
      ];
      for (const [value, reason] of cases) {
        const recorder = await refused(
          dispatch('test.secret', ['show', 'after'], { password: value }),
        );
        assert.match(recorder.final.reason!, reason);
        assert.ok(!recorder.final.reason!.includes(password));
      }
    });
  });
});

describe('taskOutcome', () => {
  const run = (result: Omit<RunResult, 'durationMs'>): RunResult => ({ ...result, durationMs: 5 });

  it('exit code 0 is succeeded, with no reason', () => {
    assert.deepEqual(taskOutcome(run({ outcome: 'exited', exitCode: 0, signal: null })), {
      status: 'succeeded',
      reason: null,
    });
  });

  it('another exit code is failed, naming the code', () => {
    assert.deepEqual(taskOutcome(run({ outcome: 'exited', exitCode: 3, signal: null })), {
      status: 'failed',
      reason: 'exited with code 3',
    });
  });

  it('death by a signal nobody sent on purpose is failed, naming the signal', () => {
    assert.deepEqual(taskOutcome(run({ outcome: 'exited', exitCode: null, signal: 'SIGSEGV' })), {
      status: 'failed',
      reason: 'killed by SIGSEGV',
    });
  });

  it('a timeout is timed_out, with the runner’s reason or a default', () => {
    assert.deepEqual(
      taskOutcome(
        run({
          outcome: 'timed_out',
          exitCode: null,
          signal: 'SIGTERM',
          error: 'timed out after 30000 ms',
        }),
      ),
      { status: 'timed_out', reason: 'timed out after 30000 ms' },
    );
    assert.deepEqual(
      taskOutcome(run({ outcome: 'timed_out', exitCode: null, signal: 'SIGKILL' })),
      { status: 'timed_out', reason: 'timed out' },
    );
  });

  it('a stop is cancelled, with the runner’s reason or a default', () => {
    assert.deepEqual(
      taskOutcome(
        run({
          outcome: 'cancelled',
          exitCode: null,
          signal: 'SIGTERM',
          error: 'stopped: cancelled',
        }),
      ),
      { status: 'cancelled', reason: 'stopped: cancelled' },
    );
    // Even when the process caught SIGTERM and exited 0, a stopped task did not succeed.
    assert.deepEqual(taskOutcome(run({ outcome: 'cancelled', exitCode: 0, signal: null })), {
      status: 'cancelled',
      reason: 'cancelled',
    });
  });

  it('a process that could not start is failed, with the spawn error', () => {
    assert.deepEqual(
      taskOutcome(
        run({
          outcome: 'spawn_failed',
          exitCode: null,
          signal: null,
          error: 'command not found: nope',
        }),
      ),
      { status: 'failed', reason: 'command not found: nope' },
    );
    assert.deepEqual(taskOutcome(run({ outcome: 'spawn_failed', exitCode: null, signal: null })), {
      status: 'failed',
      reason: 'could not start the process',
    });
  });
});
