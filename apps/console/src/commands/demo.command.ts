import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { AmqpSettings } from '@app/amqp';
import {
  createKeySet,
  followLog,
  freeLocalPort,
  KeyFileNames,
  redactUrl,
  type LiveEnd,
} from '@app/platform';
import { CatalogueSettings, loadCatalogue } from '@app/catalogue';
import type { OperationStatus } from '@app/contracts';
import {
  ApiTokenRepository,
  AuditLog,
  DatabaseSettings,
  dataSourceOptions,
  runMigrations,
} from '@app/database';
import { consoleActor } from '../console-audit';
import { AppProcess } from '../demo/app-process';
import { BrokerAdmin } from '../broker/broker-admin';
import { setUpBroker } from '../broker/broker-setup';
import { BrokerSetupSettings } from '../broker/broker-setup.settings';
import { DemoSettings } from '../demo/demo.settings';
import { checkAnsible, checkBroker, ensureDatabase } from '../demo/preflight';
import { prepareLocalMachine } from '../local-machine';

interface DemoOptions {
  target: string;
  greeting: string;
}

const ok = (text: string) => console.log(`\u2714 ${text}`);

/** The credentials and keys each app may hold (the relay and the dispatcher their own broker user), and nothing else. */
function envFor(
  app: 'api' | 'relay' | 'dispatcher',
  all: NodeJS.ProcessEnv,
  brokerUrls: { relay?: string; dispatcher?: string },
  keysDir: string,
): NodeJS.ProcessEnv {
  const env = { ...all };
  for (const key of Object.keys(env)) if (key.startsWith('BROKER_')) delete env[key];
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
  if (app !== 'api') env.AMQP_URL = brokerUrls[app];
  return env;
}

/**
 * The demo's own keys (`createKeySet`, as `aegir keys:create` makes them): the api gets a
 * directory of the public sealing keys only, the dispatcher its pool's private one.
 */
async function demoKeys(
  pools: string[],
  pool: string,
): Promise<{ dir: string; allDir: string; apiDir: string; dispatcherKey: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'aegir-demo-keys-'));
  const all = join(dir, 'all');
  const apiDir = join(dir, 'api');
  await mkdir(all, { mode: 0o700 });
  await mkdir(apiDir, { mode: 0o700 });
  const poolsWithKeys = [...new Set([...pools, pool])];
  createKeySet(all, poolsWithKeys);
  for (const name of poolsWithKeys.map(KeyFileNames.sealingPublic)) {
    await copyFile(join(all, name), join(apiDir, name));
  }
  return {
    dir,
    allDir: all,
    apiDir,
    dispatcherKey: join(all, KeyFileNames.sealingPrivate(pool)),
  };
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
    private readonly brokerAdmin: BrokerAdmin,
    private readonly brokerSetup: BrokerSetupSettings,
  ) {
    super();
  }

  async run(_args: string[], options: DemoOptions): Promise<void> {
    const dbOptions = dataSourceOptions(this.database, 'aegir-console');
    const databaseUrl = this.database.url;
    const amqpUrl = this.amqp.url;

    await prepareLocalMachine(this.database, this.amqp, this.brokerSetup);
    ok(`PostgreSQL at ${redactUrl(databaseUrl)} (database ${await ensureDatabase(databaseUrl)})`);
    await checkBroker(amqpUrl);
    ok(`RabbitMQ at ${redactUrl(amqpUrl)}`);
    ok(await checkAnsible());

    const dataSource = new DataSource(dbOptions);
    await dataSource.initialize();
    let token: string;
    const tokenName = `demo-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}-${randomBytes(2).toString('hex')}`;
    try {
      const applied = await runMigrations(dataSource);
      ok(`migrations: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
      token = await this.createToken(dataSource, tokenName);
      ok(`api token ${tokenName} (operator, for an hour; revoked when the demo ends)`);
    } finally {
      await dataSource.destroy();
    }
    const catalogue = loadCatalogue(this.catalogueSettings);
    // fresh passwords each time, handed to the apps and kept nowhere else
    const broker = await setUpBroker(this.brokerAdmin, {
      amqpUrl,
      pools: catalogue.pools(),
      rotate: true,
      canKeepGenerated: true,
    });
    ok(`broker users and topology set up for pools: ${catalogue.pools().join(', ')}`);
    const urlOf = (role: string) => broker.users.find((user) => user.role === role)?.url;

    // API_PORT as given (the api checks it), else a free port
    const port = this.demo.apiPort ?? String(await freeLocalPort());
    const env = { ...process.env, API_PORT: port, API_HOST: '127.0.0.1' };
    const brokerUrls = {
      relay: urlOf('relay'),
      dispatcher: urlOf(`dispatcher-${process.env.DISPATCHER_POOL ?? 'default'}`),
    };
    const logDir = await mkdtemp(join(tmpdir(), 'aegir-demo-'));
    const keys = await demoKeys(catalogue.pools(), process.env.DISPATCHER_POOL || 'default');
    ok(
      `a key set of its own in ${keys.dir}: the relay signs what the dispatcher runs (removed at the end)`,
    );
    const appEnv = {
      api: { ...envFor('api', env, brokerUrls, keys.allDir), API_SEALING_KEYS_DIR: keys.apiDir },
      // metrics and health on free ports unless given: the defaults may be another stack's
      relay: {
        ...envFor('relay', env, brokerUrls, keys.allDir),
        RELAY_HTTP_PORT: process.env.RELAY_HTTP_PORT ?? String(await freeLocalPort()),
      },
      dispatcher: {
        ...envFor('dispatcher', env, brokerUrls, keys.allDir),
        DISPATCHER_SEALING_KEY_FILE: keys.dispatcherKey,
        DISPATCHER_HTTP_PORT: process.env.DISPATCHER_HTTP_PORT ?? String(await freeLocalPort()),
      },
    };
    const apps = (['relay', 'dispatcher', 'api'] as const).map(
      (app) => new AppProcess(app, appEnv[app], logDir),
    );
    let status: OperationStatus | undefined;
    try {
      await Promise.all(apps.map((app) => app.waitUntilReady()));
      ok(`relay, dispatcher and api started (their logs: ${logDir})`);
      status = await this.runDemoOperation(`http://127.0.0.1:${port}/api/v1`, token, options);
    } finally {
      await this.revokeToken(dbOptions, tokenName);
      const codes = await Promise.all(apps.map((app) => app.stop()));
      if (codes.every((code) => code === 0))
        ok('stopped relay, dispatcher and api, each with exit code 0');
      else {
        console.error(`relay, dispatcher and api exited with ${codes.join(', ')}; see ${logDir}`);
        process.exitCode = 1;
      }
      await rm(keys.dir, { recursive: true, force: true });
    }
    if (status !== 'succeeded') process.exitCode = 1;
  }

  /** The demo's own operator token: the api takes no request without one. */
  private async createToken(dataSource: DataSource, name: string): Promise<string> {
    const { token, view } = await new ApiTokenRepository(dataSource).create({
      name,
      role: 'operator',
      expiresInSeconds: 3600,
    });
    await new AuditLog(dataSource).record({
      actor: consoleActor(),
      action: 'token.create',
      outcome: 'ok',
      source: 'console',
      detail: { tokenId: view.id, name, role: view.role, expiresAt: view.expiresAt, by: 'demo' },
    });
    return token;
  }

  private async revokeToken(options: DataSourceOptions, name: string): Promise<void> {
    const dataSource = new DataSource(options);
    await dataSource.initialize();
    try {
      await new ApiTokenRepository(dataSource).revoke(name);
    } finally {
      await dataSource.destroy();
    }
  }

  private async runDemoOperation(
    api: string,
    token: string,
    options: DemoOptions,
  ): Promise<OperationStatus> {
    const authorization = `Bearer ${token}`;
    const body = {
      type: 'demo.hello',
      target: options.target,
      params: { greeting: options.greeting },
    };
    console.log(`\u2192 POST ${api}/operations ${JSON.stringify(body)}`);
    const created = await fetch(`${api}/operations`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const operation = (await created.json()) as { id: string; status: string; message?: unknown };
    if (created.status !== 201) {
      throw new Error(`the api answered ${created.status}: ${JSON.stringify(operation)}`);
    }
    console.log(
      `  operation ${operation.id} ${operation.status}; its live log (GET ${api}/operations/${operation.id}/log/stream):\n`,
    );

    let end: LiveEnd | undefined;
    for await (const event of followLog({ apiUrl: api, token, operationId: operation.id })) {
      if (event.kind === 'end') end = event.end;
      if (event.kind !== 'lines') continue;
      for (const line of event.lines) {
        const text =
          line.stream === 'system' && process.stdout.isTTY
            ? `\x1b[2m${line.text}\x1b[0m`
            : line.text;
        (line.stream === 'stderr' ? process.stderr : process.stdout).write(`  ${text}\n`);
      }
    }
    if (end) {
      console.log(
        `\n  end of the live log: ${end.linesStored ?? 0} of ${end.lineCount ?? 0} lines stored (complete: ${String(end.complete)})`,
      );
    }

    const final = (await (
      await fetch(`${api}/operations/${operation.id}`, { headers: { authorization } })
    ).json()) as {
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
