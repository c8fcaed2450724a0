/**
 * docker/: no Docker engine runs where the tests do, so this spec checks what `docker
 * build` and `docker compose up` would rely on: the compose file against the compose-spec
 * schema (and `docker compose config` when a Compose CLI is installed), every service's
 * environment against its app's own configuration, every command against package.json
 * and the console's commands, the files they name against the build's output, and the
 * Dockerfile's stages, user, health check, ansible and build context.
 * Run it after `npm run build`: it reads dist/ as the image would.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { describe, it } from 'node:test';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json';
import { KeyFileNames, type AppEnvironment } from '@app/platform';
import { loadComposeFile, type ComposeService } from './compose-file';
import { parseDockerfile, type Instruction, type Stage } from './dockerfile';
import { DockerIgnore } from './dockerignore';

const repoRoot = resolve(__dirname, '..', '..', '..');
const composePath = join(repoRoot, 'docker', 'compose.yml');
const dockerfilePath = join(repoRoot, 'docker', 'Dockerfile');
const dockerIgnore = new DockerIgnore(readFileSync(join(repoRoot, '.dockerignore'), 'utf8'));
const scripts = (
  JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;

// with no variables set, so every `${VAR:-default}` takes its default, as a bare `up` does
const { compose, unresolved } = loadComposeFile(composePath, {});
const { globalArgs, stages } = parseDockerfile(readFileSync(dockerfilePath, 'utf8'));
const finalStage = stages.at(-1)!;

type App = AppEnvironment<unknown>['app'];
const APPS: readonly App[] = ['api', 'relay', 'dispatcher', 'console'];
const LONG_RUNNING: readonly App[] = ['api', 'relay', 'dispatcher'];

/** The app a command starts, from the entry file it names (dist/apps/<app>/src/main.js). */
function appOf(command: readonly string[]): App | undefined {
  for (const arg of command) {
    const app = /^dist\/apps\/([a-z]+)\/src\/main\.js$/.exec(arg)?.[1] as App | undefined;
    if (app && APPS.includes(app)) return app;
  }
  return undefined;
}

/** The services that run the image, each with its app. */
const appServices = Object.entries(compose.services).flatMap(([name, service]) => {
  const app = service.command ? appOf(service.command) : undefined;
  return app ? [{ name, service, app }] : [];
});

function environmentOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value)]),
  );
}

/** The app's configuration contract, from the build: `apps/<app>/src/<app>.environment.js`. */
function environmentContract(app: App): AppEnvironment<unknown> {
  const path = join(repoRoot, 'dist', 'apps', app, 'src', `${app}.environment.js`);
  // loaded by path: tests do not import apps' sources (lint), and this is what the image runs
  const module = createRequire(__filename)(path) as Record<string, AppEnvironment<unknown>>;
  const contract = module[`${app}Environment`];
  assert.ok(contract, `${path} exports ${app}Environment`);
  assert.equal(contract.app, app);
  return contract;
}

/** The console's command names, as its own --help lists them. */
function consoleCommands(): string[] {
  const help = execFileSync(process.execPath, ['dist/apps/console/src/main.js', '--help'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  const section = help.slice(help.indexOf('Commands:'));
  return [...section.matchAll(/^ {2}([a-z][\w:-]*)/gm)].map((match) => match[1]);
}

function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  assert.ok(match, `a duration like 45s, got ${JSON.stringify(text)}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

function composeSchemaValidator() {
  const schema = JSON.parse(
    readFileSync(join(repoRoot, 'test', 'docker', 'compose-spec.json'), 'utf8'),
  );
  // the schema names draft-07 by its https address; Ajv knows it by the http one
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addMetaSchema({ ...draft07, $id: schema.$schema });
  return ajv.compile(schema);
}

/** A Compose CLI on PATH: `docker compose` (v2) or Debian's `docker-compose` (1.x). */
function composeCli(): { argv: string[]; v1: boolean } | undefined {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) {
    return { argv: ['docker', 'compose'], v1: false };
  }
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) {
    return { argv: ['docker-compose'], v1: true };
  }
  return undefined;
}

describe('docker/compose.yml', () => {
  it('is a valid Compose file by the compose-spec JSON schema', () => {
    const validate = composeSchemaValidator();
    assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));
    assert.deepEqual(unresolved, [], 'every ${VAR} has a default, so `up` needs no .env file');
  });

  it('fails that validation for what Compose would refuse', () => {
    const validate = composeSchemaValidator();
    const typo = structuredClone(compose);
    (typo.services.api as Record<string, unknown>).enviroment = {};
    assert.equal(validate(typo), false, 'an unknown service key');
    const condition = structuredClone(compose);
    condition.services.api.depends_on!.migrate.condition = 'service_done';
    assert.equal(validate(condition), false, 'an unknown depends_on condition');
  });

  it('is accepted by `docker compose config` when a Compose CLI is installed', (t) => {
    const cli = composeCli();
    if (!cli) {
      t.skip('no docker compose / docker-compose on PATH: checked by the schema only');
      return;
    }
    // docker-compose 1.x predates the top-level `name`; it reads the file without it
    const source = readFileSync(composePath, 'utf8');
    const input = cli.v1 ? source.replace(/^name:.*$/m, '') : source;
    const result = spawnSync(cli.argv[0], [...cli.argv.slice(1), '-f', '-', 'config', '-q'], {
      cwd: join(repoRoot, 'docker'),
      input,
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
  });

  it('runs PostgreSQL ≥ 13 and RabbitMQ ≥ 3.13 (quorum queues), each with a health check', () => {
    const { postgres, rabbitmq } = compose.services;
    assert.ok(postgres && rabbitmq, 'services postgres and rabbitmq');
    const pgVersion = /^postgres:(\d+)/.exec(postgres.image ?? '');
    assert.ok(pgVersion && Number(pgVersion[1]) >= 13, `postgres image ${postgres.image}`);
    const mqVersion = /^rabbitmq:(\d+)\.(\d+)/.exec(rabbitmq.image ?? '');
    assert.ok(mqVersion, `rabbitmq image ${rabbitmq.image}`);
    const [major, minor] = [Number(mqVersion[1]), Number(mqVersion[2])];
    assert.ok(major > 3 || (major === 3 && minor >= 13), `rabbitmq image ${rabbitmq.image}`);
    for (const service of [postgres, rabbitmq]) assert.ok(service.healthcheck?.test.length);
  });

  it('starts each app once what it needs is healthy and set up', () => {
    const needs = (service: string, condition: string, ...others: string[]) => {
      for (const other of others) {
        assert.equal(
          compose.services[service]?.depends_on?.[other]?.condition,
          condition,
          `${service} waits for ${other}: ${condition}`,
        );
      }
    };
    needs('migrate', 'service_healthy', 'postgres');
    needs('broker-setup', 'service_healthy', 'rabbitmq');
    needs('api', 'service_healthy', 'postgres');
    needs('api', 'service_completed_successfully', 'migrate');
    needs('relay', 'service_healthy', 'postgres', 'rabbitmq');
    needs('relay', 'service_completed_successfully', 'migrate', 'broker-setup');
    needs('dispatcher', 'service_healthy', 'rabbitmq');
    needs('dispatcher', 'service_completed_successfully', 'broker-setup');
    for (const oneShot of ['migrate', 'broker-setup']) {
      assert.equal(compose.services[oneShot].restart, 'no', `${oneShot} runs once`);
    }
  });

  it('keeps PostgreSQL, RabbitMQ and the dispatcher work and state dirs on named volumes', () => {
    const mounts = (service: string) =>
      Object.fromEntries(
        (compose.services[service].volumes ?? []).map((volume) => {
          if (typeof volume !== 'string') return [volume.target, volume.source];
          const [source, target] = volume.split(':');
          return [target, source];
        }),
      );
    const declared = Object.keys(compose.volumes ?? {});
    const env = environmentOf(compose.services.dispatcher);
    const expected: [string, string][] = [
      ['postgres', '/var/lib/postgresql/data'],
      ['rabbitmq', '/var/lib/rabbitmq'],
      ['dispatcher', env.DISPATCHER_WORK_DIR],
      ['dispatcher', env.DISPATCHER_STATE_DIR],
    ];
    for (const [service, target] of expected) {
      assert.ok(target, `${service}: a directory to keep`);
      const volume = mounts(service)[target];
      assert.ok(volume, `${service} keeps ${target} on a volume`);
      assert.ok(declared.includes(volume), `volume ${volume} is declared`);
    }
  });

  it('mounts each key where its app reads it, from the keys volume: private halves only on their holders', () => {
    const keyMounts = (service: string) =>
      (compose.services[service].volumes ?? []).flatMap((volume) =>
        typeof volume !== 'string' && volume.source === 'keys'
          ? [[volume.target, volume.volume?.subpath, volume.read_only] as const]
          : [],
      );
    assert.ok(Object.keys(compose.volumes ?? {}).includes('keys'), 'volume keys is declared');
    const relay = environmentOf(compose.services.relay);
    const dispatcher = environmentOf(compose.services.dispatcher);
    const api = environmentOf(compose.services.api);
    const pool = dispatcher.DISPATCHER_POOL;
    assert.deepEqual(keyMounts('relay'), [
      [relay.RELAY_SIGNING_KEY_FILE, KeyFileNames.signingPrivate, true],
    ]);
    assert.deepEqual(keyMounts('dispatcher'), [
      [dispatcher.DISPATCHER_SEALING_KEY_FILE, KeyFileNames.sealingPrivate(pool), true],
      [dispatcher.DISPATCHER_SIGNING_PUBLIC_KEY_FILE, KeyFileNames.signingPublic, true],
    ]);
    assert.deepEqual(keyMounts('api'), [
      [
        join(api.API_SEALING_KEYS_DIR, KeyFileNames.sealingPublic(pool)),
        KeyFileNames.sealingPublic(pool),
        true,
      ],
    ]);
    for (const name of ['migrate', 'broker-setup']) {
      assert.deepEqual(keyMounts(name), [], `${name} holds no key`);
    }
    const keys = compose.services.keys;
    assert.deepEqual(keys.command!.slice(-3), ['keys:create', '--dir', '/keys']);
    assert.deepEqual(keys.volumes, ['keys:/keys']);
    assert.ok(dockerIgnore.excludes('docker/keys'), 'key files stay out of the build context');
  });

  it('publishes a port for the api only, the one it listens on', () => {
    const published = Object.entries(compose.services).filter(([, service]) => service.ports);
    assert.deepEqual(
      published.map(([name]) => name),
      ['api'],
    );
    const containerPorts = compose.services.api.ports!.map((port) => port.split(':').at(-1));
    assert.deepEqual(containerPorts, [environmentOf(compose.services.api).API_PORT]);
  });

  it('builds every app service from the one image of docker/Dockerfile', () => {
    assert.deepEqual(appServices.map(({ name }) => name).sort(), [
      'api',
      'broker-setup',
      'dispatcher',
      'keys',
      'migrate',
      'relay',
    ]);
    const images = new Set(appServices.map(({ service }) => service.image));
    assert.equal(images.size, 1, `one image, got ${[...images].join(', ')}`);
    for (const { name, service } of appServices) {
      assert.ok(service.build, `${name} says how its image is built`);
      const context = resolve(repoRoot, 'docker', service.build.context);
      assert.equal(context, repoRoot, `${name}: the build context is the repository root`);
      assert.equal(resolve(context, service.build.dockerfile ?? 'Dockerfile'), dockerfilePath);
    }
  });

  it('runs each app service as the package.json script that starts it', () => {
    const commands = consoleCommands();
    assert.ok(
      commands.includes('db:migrate') && commands.includes('broker:setup'),
      commands.join(),
    );
    for (const { name, service, app } of appServices) {
      const command = service.command!.join(' ');
      if (app === 'console') {
        const prefix = `${scripts.aegir} `;
        assert.ok(command.startsWith(prefix), `${name}: "${command}" runs the aegir script`);
        const [consoleCommand] = command.slice(prefix.length).split(' ');
        assert.ok(
          commands.includes(consoleCommand),
          `${name}: aegir has a ${consoleCommand} command`,
        );
      } else {
        assert.equal(command, scripts[`start:${app}`], `${name}: npm run start:${app}`);
      }
    }
    assert.equal(compose.services.migrate.command!.at(-1), 'db:migrate');
    assert.equal(compose.services['broker-setup'].command!.at(-1), 'broker:setup');
  });

  it('names entry files and health checks that the build produces', () => {
    const dockerfileCommands = finalStage.instructions
      .filter((instruction) => ['CMD', 'ENTRYPOINT'].includes(instruction.keyword))
      .flatMap((instruction) => instruction.args);
    const named = [
      ...appServices.flatMap(({ service }) => service.command!),
      ...dockerfileCommands,
    ].filter((arg) => arg.startsWith('dist/'));
    // docker/healthcheck.sh runs dist/apps/<app>/src/health.js of the app the container runs
    const healthChecks = appServices
      .filter(({ app }) => LONG_RUNNING.includes(app))
      .map(({ app }) => `dist/apps/${app}/src/health.js`);
    assert.ok(named.length > 0);
    for (const file of [...new Set([...named, ...healthChecks])]) {
      assert.ok(existsSync(join(repoRoot, file)), `${file} is built by npm run build`);
    }
  });

  it('gives each app an environment its configuration accepts, of variables it reads', () => {
    for (const { name, service, app } of appServices) {
      const contract = environmentContract(app);
      const env = environmentOf(service);
      for (const variable of Object.keys(env)) {
        assert.ok(contract.variables.includes(variable), `${name}: ${app} reads ${variable}`);
      }
      assert.doesNotThrow(() => contract.validate(env), `${name}: ${app} accepts its environment`);
    }
  });

  it('gives the api no broker settings and the dispatcher no database settings', () => {
    const refused: Partial<Record<App, string>> = { api: 'AMQP_', dispatcher: 'DATABASE_' };
    for (const { name, service, app } of appServices) {
      const prefix = refused[app];
      if (!prefix) continue;
      const set = Object.keys(environmentOf(service)).filter((v) => v.startsWith(prefix));
      assert.deepEqual(set, [], `${name} sets no ${prefix}* variables`);
    }
  });

  it("sets only variables the README's Configuration table lists for that app", () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const usedBy = new Map<string, string>();
    for (const match of readme.matchAll(/^\| `([A-Z0-9_]+)` +\| ([^|]+?) +\|/gm)) {
      usedBy.set(match[1], match[2]);
    }
    assert.ok(usedBy.size > 0, 'the Configuration table');
    for (const { name, service, app } of appServices) {
      for (const variable of Object.keys(environmentOf(service))) {
        const apps = usedBy.get(variable);
        assert.ok(apps, `${name}: ${variable} is in the README's table`);
        assert.ok(
          apps === 'all apps' || apps.split(/,\s*/).includes(app),
          `${name}: the README says ${variable} is used by ${apps}, not ${app}`,
        );
      }
    }
  });

  it('checks each app by its own GET /health/ready, on a port it opens and the image exposes', () => {
    const final = (keyword: string) =>
      finalStage.instructions.filter((instruction) => instruction.keyword === keyword);
    const program = final('HEALTHCHECK').at(-1)?.args[1];
    const exposed = final('EXPOSE').flatMap((expose) => expose.args);
    const ports: Record<string, (settings: any) => { port: number; host: string }> = {
      api: ({ api }) => api,
      relay: ({ relay }) => ({ port: relay.httpPort, host: relay.httpHost }),
      dispatcher: ({ dispatcher }) => ({ port: dispatcher.httpPort, host: dispatcher.httpHost }),
    };
    for (const { name, service, app } of appServices.filter(({ app }) =>
      LONG_RUNNING.includes(app),
    )) {
      // docker/healthcheck.sh runs dist/apps/<app>/src/health.js, which asks /health/ready
      assert.deepEqual(service.healthcheck?.test, ['CMD', program], `${name}: the image's check`);
      const { port, host } = ports[app](environmentContract(app).validate(environmentOf(service)));
      assert.ok(port > 0, `${name} opens its HTTP port`);
      assert.equal(host, '0.0.0.0', `${name}: reachable by Prometheus on the compose network`);
      assert.ok(exposed.includes(String(port)), `the Dockerfile EXPOSEs ${port} (${name})`);
    }
    const healthcheck = readFileSync(join(repoRoot, 'docker', 'healthcheck.sh'), 'utf8');
    assert.match(healthcheck, /dist\/apps\/\$app\/src\/health\.js/);
  });

  it("sets the api's metrics token, so that Prometheus can scrape GET /metrics", () => {
    const contract = environmentContract('api');
    const { metrics } = contract.validate(environmentOf(compose.services.api)) as {
      metrics: { token: string };
    };
    assert.ok(metrics.token.length >= 32, 'API_METRICS_TOKEN is set');
  });

  it('lets the dispatcher finish its running operations before it is killed', () => {
    const { dispatcher } = compose.services;
    const env = environmentOf(dispatcher);
    const needed = Number(env.DISPATCHER_SHUTDOWN_GRACE_MS) + Number(env.DISPATCHER_KILL_GRACE_MS);
    assert.ok(Number.isFinite(needed), 'the dispatcher sets both graces');
    const grace = durationMs(dispatcher.stop_grace_period ?? '10s');
    assert.ok(grace > needed, `stop_grace_period ${grace} ms > ${needed} ms`);
  });
});

describe('docker/Dockerfile', () => {
  const named = (stage: Stage, keyword: string): Instruction[] =>
    stage.instructions.filter((instruction) => instruction.keyword === keyword);
  const runs = (stage: Stage): string[] => named(stage, 'RUN').map((run) => run.text);

  it('builds in stages and runs on a Debian-based Node 20 image', () => {
    assert.ok(stages.length > 1, `${stages.length} FROM stage(s)`);
    const base = finalStage.from.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => globalArgs[a ?? b]);
    assert.match(base, /^node:20[\w.-]*-(bookworm|trixie)(-slim)?$/);
  });

  it('runs the app as a user that is not root', () => {
    const user = named(finalStage, 'USER').at(-1)?.args[0];
    assert.ok(user, 'the final stage sets USER');
    const [name] = user.split(':');
    assert.ok(!['root', '0'].includes(name), `USER ${user}`);
  });

  it('has a health check that runs a file copied into the image', () => {
    const check = named(finalStage, 'HEALTHCHECK').at(-1);
    assert.ok(check, 'the final stage has a HEALTHCHECK');
    assert.equal(check.args[0], 'CMD', `HEALTHCHECK ${check.text}`);
    const program = check.args[1];
    const copied = named(finalStage, 'COPY').some(
      (copy) => posix.basename(copy.args.at(-1)!) === program,
    );
    assert.ok(copied, `${program} is copied into the image`);
  });

  it('installs ansible-core from Debian in the final stage', () => {
    assert.ok(
      runs(finalStage).some((run) => /apt-get install\b[^&;|]*\bansible-core\b/.test(run)),
      runs(finalStage).join('\n'),
    );
  });

  it('ships only production dependencies', () => {
    const nodeModules = named(finalStage, 'COPY').find(
      (copy) => copy.args.at(-1)?.replace(/\/$/, '') === 'node_modules',
    );
    assert.ok(nodeModules?.flags.from, 'node_modules come from a stage of their own');
    const source = stages.find((stage) => stage.name === nodeModules.flags.from)!;
    assert.ok(
      runs(source).some((run) => /npm ci\b.*--omit=dev|npm prune\b.*--omit=dev/.test(run)),
      `stage ${source.name} installs without the dev dependencies`,
    );
    assert.ok(!runs(finalStage).some((run) => /\bnpm (ci|install)\b/.test(run)));
  });

  it('starts the api by default, under tini, as npm run start:api does', () => {
    assert.deepEqual(named(finalStage, 'ENTRYPOINT').at(-1)?.args, ['/usr/bin/tini', '--']);
    assert.equal(named(finalStage, 'CMD').at(-1)?.args.join(' '), scripts['start:api']);
  });

  it('copies only files that exist and are in the build context', () => {
    const names = stages.map((stage) => stage.name);
    stages.forEach((stage, index) => {
      for (const copy of named(stage, 'COPY')) {
        const sources = copy.args.slice(0, -1);
        if (copy.flags.from !== undefined) {
          assert.ok(
            names.slice(0, index).includes(copy.flags.from),
            `COPY --from=${copy.flags.from}`,
          );
          continue;
        }
        for (const source of sources) {
          assert.ok(existsSync(join(repoRoot, source)), `${source} exists`);
          assert.ok(!dockerIgnore.excludes(source), `${source} is not in .dockerignore`);
          if (statSync(join(repoRoot, source)).isDirectory()) {
            assert.ok(contextFiles(source).length > 0, `${source} has files in the context`);
          }
        }
      }
    });
  });

  it('keeps node_modules, dist, .git and test output out of the build context', () => {
    for (const path of [
      'node_modules',
      'dist',
      '.git',
      'coverage',
      'test',
      'apps/api/src/api.spec.ts',
    ]) {
      assert.ok(dockerIgnore.excludes(path), `${path} is in .dockerignore`);
    }
    assert.ok(!dockerIgnore.excludes('apps/api/src/main.ts'));
  });

  it('compiles every app in its build stage from what that stage copies', () => {
    const build = stages.find((stage) => runs(stage).some((run) => run.includes('npm run build')));
    assert.ok(build, 'a stage runs npm run build');
    const dir = mkdtempSync(join(tmpdir(), 'aegir-docker-build-'));
    try {
      for (const copy of stageChain(build).flatMap((stage) => named(stage, 'COPY'))) {
        const [destination, ...sources] = [copy.args.at(-1)!, ...copy.args.slice(0, -1)];
        for (const source of sources) {
          for (const file of contextFiles(source)) {
            const target =
              destination.endsWith('/') || sources.length > 1
                ? join(dir, destination, posix.basename(source), file.slice(source.length))
                : join(dir, destination, file.slice(source.length));
            cpSync(join(repoRoot, file), target);
          }
        }
      }
      // node_modules as the deps stage installs them: the repository's own
      symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
      execFileSync('npm', ['run', 'build', '--silent'], { cwd: dir, stdio: 'pipe' });
      for (const app of APPS) {
        assert.ok(existsSync(join(dir, 'dist', 'apps', app, 'src', 'main.js')), `${app} built`);
      }
      for (const app of LONG_RUNNING) {
        assert.ok(existsSync(join(dir, 'dist', 'apps', app, 'src', 'health.js')), `${app} health`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A stage and the stages it is built FROM, first the earliest. */
function stageChain(stage: Stage): Stage[] {
  const parent = stages.find((other) => other.name === stage.from);
  return parent ? [...stageChain(parent), stage] : [stage];
}

/** The files under `path` (a file or a directory) that the build context holds. */
function contextFiles(path: string): string[] {
  const full = join(repoRoot, path);
  if (!statSync(full).isDirectory()) return dockerIgnore.excludes(path) ? [] : [path];
  return readdirSync(full).flatMap((entry) => {
    const child = posix.join(path, entry);
    return dockerIgnore.excludes(child) ? [] : contextFiles(child);
  });
}
