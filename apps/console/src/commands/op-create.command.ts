import { Command, CommandRunner, Option } from 'nest-commander';
import { CliError } from '../cli-error';
import { ConsoleAudit } from '../console-audit';
import { ConsoleCatalogue } from '../console-catalogue';
import { ConsoleDatabase } from '../console-database';
import { ConsoleSealer } from '../console-sealer';
import { UNSTORABLE_RULE, unstorablePath } from '@app/platform';
import { buildParams } from '../flags';
import { LogFollower } from '../live-log/log-follower';
import { statusExitCode } from '../live-log/status-exit-code';
import { out, printJson } from '../output';

interface OpCreateOptions {
  target?: string;
  param?: string[];
  params?: string;
  follow?: boolean;
  json?: boolean;
}

@Command({
  name: 'op:create',
  arguments: '<type>',
  description: 'Queue an operation of a catalogue type, as POST /operations does',
  argsDescription: { type: 'operation type, e.g. demo.hello' },
})
export class OpCreateCommand extends CommandRunner {
  constructor(
    private readonly db: ConsoleDatabase,
    private readonly catalogue: ConsoleCatalogue,
    private readonly audit: ConsoleAudit,
    private readonly sealer: ConsoleSealer,
    private readonly follower: LogFollower,
  ) {
    super();
  }

  async run([type]: string[], options: OpCreateOptions): Promise<void> {
    if (options.target === undefined) throw new CliError('--target is required');
    // Checked before connecting: a bad request needs no database to be refused.
    const request = {
      type,
      target: options.target,
      params: buildParams(options.params, options.param ?? []),
    };
    const plan = this.catalogue.get().plan(request);
    // after plan(), which refuses params too deep to walk
    const unstorable = unstorablePath(request);
    if (unstorable) throw new CliError(`${unstorable} ${UNSTORABLE_RULE}`);
    // Secret params are sealed to the pool's key, as the api does: only ciphertext is stored.
    const sealed = await this.sealer.seal(plan);
    const view = await (await this.db.store()).create(sealed, { actor: this.audit.actor });
    await this.audit.ok('operation.create', view.id, { type: view.type, target: view.target });
    if (options.follow) {
      // the id first, so that a follow cut short still says what to follow
      const json = options.json === true;
      if (json) await out(`${JSON.stringify({ id: view.id, status: view.status })}\n`);
      else await out(`operation ${view.id} ${view.status}\n`);
      const status = await this.follower.follow(view.id, 0, { json, raw: false });
      process.exitCode = statusExitCode(status);
      return;
    }
    if (options.json) return printJson(view);
    const tasks = view.tasks?.length ?? 0;
    await out(
      `operation ${view.id} ${view.status}: ${view.type} on ${view.target} (${tasks} task${tasks === 1 ? '' : 's'})\n`,
    );
  }

  @Option({ flags: '-t, --target <target>', description: 'host or site the operation acts on' })
  parseTarget(value: string): string {
    return value;
  }

  @Option({
    flags: '-p, --param <key=value>',
    description:
      'a parameter; the value is read as JSON when it parses (5, true, "5"), else as text; repeatable',
  })
  parseParam(value: string, previous: string[] | undefined): string[] {
    return [...(previous ?? []), value];
  }

  @Option({ flags: '--params <json>', description: 'all parameters as a JSON object' })
  parseParams(value: string): string {
    return value;
  }

  @Option({
    flags: '--follow',
    description:
      'then print its log as it comes until it ends (as op:log --follow; exit code 0 succeeded, 2 failed, 3 timed_out, 4 cancelled, 5 lost)',
  })
  parseFollow(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print the operation as JSON' })
  parseJson(): boolean {
    return true;
  }
}
