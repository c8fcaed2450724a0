import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import { DataSource } from 'typeorm';
import { AmqpSettings } from '@app/amqp';
import { createKeySet, freeLocalPort, KeyFileNames, redactUrl } from '@app/platform';
import { CatalogueSettings, loadCatalogue } from '@app/catalogue';
import { isTerminal, type OperationStatus } from '@app/contracts';
import { DatabaseSettings, dataSourceOptions, runMigrations } from '@app/database';
import { AppProcess } from '../demo/app-process';
import { setUpBroker } from '../demo/broker-setup';
import { DemoSettings } from '../demo/demo.settings';
import { checkAnsible, checkBroker, ensureDatabase } from '../demo/preflight';
import { prepareLocalMachine } from '../local-machine';

interface DemoOptions {
  target: string;
  greeting: string;
}

interface LogPage {
  status: OperationStatus;
  next: number;
  lines: { seq: number; stream: string; text: string }[];
}

const ok = (text: string) => console.log(`\u2714 ${text}`);

/** The credentials and keys each app may hold, and nothing else from this environment. */
function envFor(
  app: 'api' | 'relay' | 'dispatcher',
  all: NodeJS.ProcessEnv,
  keysDir: string,
): NodeJS.ProcessEnv {
  const env = { ...all };
  delete env.RELAY_SIGNING_KEY_FILE;
  delete env.DISPATCHER_SIGNING_PUBLIC_KEY_FILE;
  if (app === 'relay') env.RELAY_SIGNING_KEY_FILE = join(keysDir, KeyFileNames.signingPrivate);
  if (app === 'dispatcher') {
    env.DISPATCHER_SIGNING_PUBLIC_KEY_FILE = join(keysDir, KeyFileNames.signingPublic);
  }
  if (app === 'api')
    for (const key of Object.keys(env)) if (key.startsWith('AMQP_')) delete env[key];
  if (app === 'dispatcher')
    for (const key of Object.keys(env)) if (key.startsWith('DATABASE_')) delete env[key];
  return env;
}

@Command({
  name: 'demo',
  description:
    'Prepare this machine (setup:local), check the services, migrate, set up the broker, start relay, dispatcher and api, run demo.hello over REST and print its live log',
})
export class DemoCommand extends CommandRunner {
  constructor(
    private readonly database: DatabaseSettings,
    private readonly amqp: AmqpSettings,
    private readonly catalogueSettings: CatalogueSettings,
    private readonly demo: DemoSettings,
  ) {
    super();
  }

  async run(_args: string[], options: DemoOptions): Promise<void> {
    const dbOptions = dataSourceOptions(this.database, 'aegir-console');
    const databaseUrl = this.database.url;
    const amqpUrl = this.amqp.url;

    await prepareLocalMachine(this.database, this.amqp);
    ok(`PostgreSQL at ${redactUrl(databaseUrl)} (database ${await ensureDatabase(databaseUrl)})`);
    await checkBroker(amqpUrl);
    ok(`RabbitMQ at ${redactUrl(amqpUrl)}`);
    ok(await checkAnsible());

    const dataSource = new DataSource(dbOptions);
    await dataSource.initialize();
    try {
      const applied = await runMigrations(dataSource);
      ok(`migrations: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
    } finally {
      await dataSource.destroy();
    }
    const catalogue = loadCatalogue(this.catalogueSettings);
    await setUpBroker(amqpUrl, catalogue.pools());
    ok(`broker topology declared for pools: ${catalogue.pools().join(', ')}`);

    // API_PORT as given (the api checks it), else a free port
    const port = this.demo.apiPort ?? String(await freeLocalPort());
    const env = { ...process.env, API_PORT: port, API_HOST: '127.0.0.1' };
    const logDir = await mkdtemp(join(tmpdir(), 'aegir-demo-'));
    // a key set of the demo's own (mkdtemp: 0700), gone when the demo ends
    const keysDir = await mkdtemp(join(tmpdir(), 'aegir-demo-keys-'));
    createKeySet(keysDir, catalogue.pools());
    ok(`a key set of its own: the relay signs what the dispatcher runs (${keysDir})`);
    const apps = (['relay', 'dispatcher', 'api'] as const).map(
      (app) => new AppProcess(app, envFor(app, env, keysDir), logDir),
    );
    let status: OperationStatus | undefined;
    try {
      await Promise.all(apps.map((app) => app.waitUntilReady()));
      ok(`relay, dispatcher and api started (their logs: ${logDir})`);
      status = await this.runDemoOperation(`http://127.0.0.1:${port}/api/v1`, options);
    } finally {
      const codes = await Promise.all(apps.map((app) => app.stop()));
      await rm(keysDir, { recursive: true, force: true });
      if (codes.every((code) => code === 0))
        ok('stopped relay, dispatcher and api, each with exit code 0');
      else {
        console.error(`relay, dispatcher and api exited with ${codes.join(', ')}; see ${logDir}`);
        process.exitCode = 1;
      }
    }
    if (status !== 'succeeded') process.exitCode = 1;
  }

  private async runDemoOperation(api: string, options: DemoOptions): Promise<OperationStatus> {
    const body = {
      type: 'demo.hello',
      target: options.target,
      params: { greeting: options.greeting },
    };
    console.log(`\u2192 POST ${api}/operations ${JSON.stringify(body)}`);
    const created = await fetch(`${api}/operations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const operation = (await created.json()) as { id: string; status: string; message?: unknown };
    if (created.status !== 201) {
      throw new Error(`the api answered ${created.status}: ${JSON.stringify(operation)}`);
    }
    console.log(`  operation ${operation.id} ${operation.status}; its live log:\n`);

    let after = 0;
    for (;;) {
      const response = await fetch(
        `${api}/operations/${operation.id}/log?after=${after}&limit=1000`,
      );
      const page = (await response.json()) as LogPage;
      for (const line of page.lines) {
        const text =
          line.stream === 'system' && process.stdout.isTTY
            ? `\x1b[2m${line.text}\x1b[0m`
            : line.text;
        (line.stream === 'stderr' ? process.stderr : process.stdout).write(`  ${text}\n`);
      }
      after = page.next;
      if (isTerminal(page.status) && page.lines.length === 0) break;
      if (page.lines.length === 0) await new Promise((r) => setTimeout(r, 150));
    }

    const final = (await (await fetch(`${api}/operations/${operation.id}`)).json()) as {
      status: OperationStatus;
      reason: string | null;
      durationMs: number | null;
      lineCount: number | null;
      tasks: { name: string; status: string; exitCode: number | null; durationMs: number | null }[];
    };
    const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
    console.log(
      `\noperation ${operation.id} ${final.status.toUpperCase()} in ${seconds(final.durationMs)}, ` +
        `${final.lineCount ?? 0} lines${final.reason ? ` (${final.reason})` : ''}`,
    );
    for (const task of final.tasks) {
      console.log(
        `  task ${task.name}: ${task.status}, exit ${task.exitCode ?? '-'}, ${seconds(task.durationMs)}`,
      );
    }
    return final.status;
  }

  @Option({
    flags: '--target <name>',
    description: 'the target to greet',
    defaultValue: 'localhost',
  })
  parseTarget(value: string): string {
    return value;
  }

  @Option({
    flags: '--greeting <text>',
    description: 'what to say',
    defaultValue: 'Hello from Aegir Queue',
  })
  parseGreeting(value: string): string {
    return value;
  }
}
