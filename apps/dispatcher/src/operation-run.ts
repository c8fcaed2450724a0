import type { Catalogue, ResolvedTask, TaskContext } from '@app/catalogue';
import { MAX_LINE_LENGTH, type DispatchMessage, type OperationStatus } from '@app/contracts';
import { escapeControls } from '@app/platform';
import {
  NO_HOSTS_MATCHED_LINE,
  prepareTask,
  removeTaskFiles,
  Workspace,
  type ProcessRunner,
  type RunResult,
  type RunningProcess,
} from '@app/runner';
import type { DispatcherSettings } from './dispatcher.settings';
import type { BufferedOutput, OperationEvents } from './operation-events';
import type { SecretOpener } from './secret-opener';

interface PlannedTask {
  id: string;
  resolved: ResolvedTask;
}

/** How one task's process ended, in the words of the status machine. */
export function taskOutcome(result: RunResult): { status: OperationStatus; reason: string | null } {
  switch (result.outcome) {
    case 'exited':
      return result.exitCode === 0
        ? { status: 'succeeded', reason: null }
        : {
            status: 'failed',
            reason:
              result.exitCode === null
                ? `killed by ${result.signal ?? 'a signal'}`
                : `exited with code ${result.exitCode}`,
          };
    case 'timed_out':
      return { status: 'timed_out', reason: result.error ?? 'timed out' };
    case 'cancelled':
      return { status: 'cancelled', reason: result.error ?? 'cancelled' };
    case 'spawn_failed':
      return { status: 'failed', reason: result.error ?? 'could not start the process' };
  }
}

/**
 * Runs one dispatched operation: its tasks in order in a private workspace, every
 * output line and status change sent back through its event stream.
 */
export class OperationRun {
  private current?: RunningProcess;
  private stopReason?: string;
  /** The type's maxOutputBytes, once claimed. */
  private maxOutputBytes = Infinity;
  /** Why the running task is being stopped for its output; its lines are dropped from then. */
  private outputRefused?: string;
  /** The secret params in clear, opened at claim(): only in the vars file and the masker. */
  private secrets: Record<string, string> = {};
  /** The name of the task running now, for the log. */
  runningTask?: string;
  /** The name of the task the operation ended in when that task did not succeed. */
  endedInTask?: string;

  constructor(
    private readonly message: DispatchMessage,
    private readonly events: OperationEvents,
    private readonly catalogue: Catalogue,
    private readonly config: DispatcherSettings,
    private readonly runner: ProcessRunner,
    private readonly opener: SecretOpener,
  ) {}

  get operationId(): string {
    return this.message.operationId;
  }

  /** What of its output waits for the broker, in memory and in spill files. */
  get buffered(): BufferedOutput {
    return this.events.buffered;
  }

  /**
   * Resolves the tasks and reports `running` (or the failure to start); `run()` must then be
   * called if it returned a plan. The relay's claim grant already made the operation
   * `running`, so the report goes out in order but is not waited for: confirms are awaited
   * only where the dispatcher must know, at the operation's end.
   */
  async claim(): Promise<PlannedTask[] | null> {
    const context = this.context();
    let plan: PlannedTask[];
    try {
      plan = this.message.tasks.map((task) => ({
        id: task.id,
        resolved: this.catalogue.resolveTask(context, task.name),
      }));
      // resolveTask checked the type and that each secret param is sealed; open them now
      this.secrets = await this.opener.open(this.message, this.catalogue.get(context.type)!);
    } catch (error) {
      const reason = `cannot run on dispatcher ${this.config.id}: ${describe(error)}`;
      this.skipTasks(0, reason);
      await this.events.status({ taskId: null, status: 'failed', reason, lineCount: 0 });
      return null;
    }
    this.maxOutputBytes = this.catalogue.get(this.message.type)?.maxOutputBytes ?? Infinity;
    void this.events.status({ taskId: null, status: 'running' });
    return plan;
  }

  async run(plan: PlannedTask[]): Promise<OperationStatus> {
    let workspace: Workspace | undefined;
    let final: { status: OperationStatus; reason: string | null; exitCode: number | null } = {
      status: 'succeeded',
      reason: null,
      exitCode: 0,
    };
    // The first task not yet ended, and whether its `running` went out.
    let index = 0;
    let inTask = false;
    try {
      workspace = await Workspace.create(this.config.workDir, `op-${this.operationId}-`);
      for (; index < plan.length; index++) {
        const { id, resolved } = plan[index];
        if (this.stopReason) {
          final = { status: 'cancelled', reason: this.stopReason, exitCode: null };
          this.skipTasks(index, `not run: ${this.stopReason}`);
          break;
        }
        inTask = true;
        this.runningTask = resolved.name;
        const outcome = await this.runTask(id, resolved, workspace);
        inTask = false;
        this.runningTask = undefined;
        if (outcome.status !== 'succeeded') {
          this.endedInTask = resolved.name;
          final = {
            status: outcome.status,
            reason: `task "${resolved.name}": ${outcome.reason ?? outcome.status}`,
            exitCode: outcome.exitCode,
          };
          this.skipTasks(index + 1, `not run: task "${resolved.name}" ${outcome.status}`);
          break;
        }
      }
    } catch (error) {
      const reason = `dispatcher error: ${describe(error)}`;
      final = { status: 'failed', reason, exitCode: null };
      // No task may stay running or queued: the one in hand failed, the rest never ran.
      if (inTask) {
        void this.events.status({ taskId: plan[index].id, status: 'failed', reason });
        this.endedInTask = plan[index].resolved.name;
        this.runningTask = undefined;
      }
      this.skipTasks(inTask ? index + 1 : index, `not run: ${reason}`);
    } finally {
      await workspace?.remove().catch(() => undefined);
    }
    await this.events.status({
      taskId: null,
      ...final,
      lineCount: this.events.lineCount,
    });
    return final.status;
  }

  /** Stops the running task's process group (TERM, then KILL) and runs no further task. */
  stop(reason: string): void {
    this.stopReason ??= reason;
    this.current?.stop('cancelled');
  }

  private async runTask(
    taskId: string,
    task: ResolvedTask,
    workspace: Workspace,
  ): Promise<{ status: OperationStatus; reason: string | null; exitCode: number | null }> {
    // The event stream keeps the order: no later event overtakes this one.
    void this.events.status({ taskId, status: 'running' });
    const context = this.context();
    // ansible-playbook ends 0 when a play matched no host: that ran nothing, so it failed.
    const playbook = task.runner === 'ansible-playbook';
    let noHostMatched = false;
    let result: RunResult;
    try {
      const prepared = await prepareTask(task, {
        ...context,
        params: { ...context.params, ...this.secrets },
        workspace,
        stateDir: this.config.stateDir,
        taskName: task.name,
      });
      await this.events.line(
        taskId,
        'system',
        systemLine(`== task ${task.name}: ${prepared.argv.map(shownArg).join(' ')}`),
      );
      this.current = this.runner.run({
        ...prepared,
        timeoutMs: task.timeoutSeconds * 1000,
        killGraceMs: this.config.killGraceMs,
        maxLineLength: this.config.maxLineLength,
        ansi: this.config.ansi,
        secrets: Object.values(this.secrets),
        onLine: (stream, text, continues) => {
          if (this.outputRefused) return undefined;
          if (playbook && stream === 'stdout' && text === NO_HOSTS_MATCHED_LINE)
            noHostMatched = true;
          const pending = this.events.line(taskId, stream, text, continues);
          if (this.events.outputBytes > this.maxOutputBytes) this.refuseOutput();
          return pending;
        },
      });
      if (this.stopReason) this.current.stop('cancelled');
      result = await this.current.result;
      this.current = undefined;
    } finally {
      await removeTaskFiles(workspace);
    }
    let outcome = this.outputRefused
      ? { status: 'failed' as const, reason: this.outputRefused }
      : taskOutcome(result);
    if (outcome.status === 'succeeded' && noHostMatched) {
      outcome = {
        status: 'failed',
        reason: `a play matched no host (target ${JSON.stringify(this.message.target)}), so it ran nothing`,
      };
    }
    const reason =
      outcome.status === 'cancelled' ? (this.stopReason ?? outcome.reason) : outcome.reason;
    await this.events.line(
      taskId,
      'system',
      systemLine(
        `== task ${task.name}: ${outcome.status}${reason ? ` (${reason})` : ''} in ${(result.durationMs / 1000).toFixed(1)} s`,
      ),
    );
    void this.events.status({ taskId, status: outcome.status, exitCode: result.exitCode, reason });
    return { status: outcome.status, reason, exitCode: result.exitCode };
  }

  /** Past the type's maxOutputBytes: the task's process group is stopped, as a cancel does. */
  private refuseOutput(): void {
    this.outputRefused = `output passed maxOutputBytes (${this.maxOutputBytes} bytes); stopped`;
    this.current?.stop('cancelled');
  }

  /**
   * Tasks after a failure never run; they end `cancelled` with the reason, never stay queued.
   * Their statuses are confirmed before the operation's, which follows them.
   */
  private skipTasks(from: number, reason: string): void {
    for (const task of this.message.tasks.slice(from)) {
      void this.events.status({ taskId: task.id, status: 'cancelled', reason });
    }
  }

  private context(): TaskContext {
    const { operationId, type, target, params } = this.message;
    return { operationId, type, target, params };
  }
}

/** An argument as the command line shows it: quoted (JSON) when it holds a space, a quote or nothing. */
function shownArg(arg: string): string {
  return arg === '' || /[\s"'\\]/.test(arg) ? JSON.stringify(arg) : arg;
}

/**
 * A line the dispatcher writes itself, holding params: no control character reaches a
 * terminal through it, and it is never longer than the wire takes.
 */
export function systemLine(text: string): string {
  const safe = escapeControls(text);
  return safe.length <= MAX_LINE_LENGTH ? safe : `${safe.slice(0, MAX_LINE_LENGTH - 1)}…`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
