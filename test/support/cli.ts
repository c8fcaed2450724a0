import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from './database';
import { appEntry, fixtures, repoRoot } from './processes';

/** What a run of the `aegir` CLI gave back; code is null when it was killed. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `aegir` CLI with exactly `env`; killed (SIGKILL) after `timeoutMs`. `input`,
 * when given, is its standard input (else it has none).
 */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
  input?: string,
): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [appEntry('console'), ...args], {
      cwd: repoRoot,
      env,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    child.stdin?.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** `aegir ARGS` with this process's environment, the test catalogue, then `env` on top. */
export function aegir(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, {
    ...process.env,
    CATALOGUE_DIR: fixtures.catalogueDir,
    PLAYBOOKS_DIR: fixtures.playbooksDir,
    ...env,
  });
}

/** A spec of the console's commands: a database of its own, a connection, the CLI pointed at it. */
export interface ConsoleTestDatabase {
  db: TestDatabase;
  /** The spec's own connection, to read and set rows as a user could not. */
  sql: Client;
  /** `aegir ARGS` with DATABASE_URL set to the spec's database. */
  run: (...args: string[]) => Promise<CliResult>;
  /** Closes the connection and drops the database. */
  close: () => Promise<void>;
}

export async function createConsoleTestDatabase(
  prefix: string,
  options: { migrate?: boolean } = {},
): Promise<ConsoleTestDatabase> {
  const db = await createTestDatabase(prefix, options);
  const sql = new Client({ connectionString: db.url });
  try {
    await sql.connect();
  } catch (error) {
    await db.drop();
    throw error;
  }
  return {
    db,
    sql,
    run: (...args) => aegir(args, { DATABASE_URL: db.url }),
    close: async () => {
      await sql.end();
      await db.drop();
    },
  };
}

/** `op:create ARGS --json` through `run`, which must succeed: the new operation's id. */
export async function createdOperation(
  run: (...args: string[]) => Promise<CliResult>,
  ...args: string[]
): Promise<string> {
  const result = await run('op:create', ...args, '--json');
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { id: string }).id;
}
