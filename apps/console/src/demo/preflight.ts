import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { redactUrl } from '@app/platform';

const run = promisify(execFile);

/** A check that failed, with what to do about it. */
export class PreflightError extends Error {
  constructor(
    problem: string,
    readonly fix: string,
  ) {
    super(`${problem}\n  fix: ${fix}`);
  }
}

/** Connects to the server's maintenance database and creates the target database if missing. */
export async function ensureDatabase(databaseUrl: string): Promise<'created' | 'exists'> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.replace(/^\//, '')) || 'postgres';
  const maintenance = new URL(databaseUrl);
  maintenance.pathname = '/postgres';
  const client = new Client({
    connectionString: maintenance.toString(),
    application_name: 'aegir-console',
  });
  try {
    await client.connect();
  } catch (error) {
    throw new PreflightError(
      `PostgreSQL does not answer at ${redactUrl(databaseUrl)} (${(error as Error).message})`,
      'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
        '(install with `apt-get install -y postgresql`), or point DATABASE_URL at a running server',
    );
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return 'exists';
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    return 'created';
  } finally {
    await client.end();
  }
}

export async function checkBroker(amqpUrl: string): Promise<void> {
  try {
    const connection = await connect(amqpUrl, { timeout: 5000 });
    await connection.close();
  } catch (error) {
    throw new PreflightError(
      `RabbitMQ does not answer at ${redactUrl(amqpUrl)} (${(error as Error).message})`,
      'start it with `rabbitmq-server -detached` (install with `apt-get install -y rabbitmq-server`), ' +
        'or point AMQP_URL at a running broker',
    );
  }
}

export async function checkAnsible(): Promise<string> {
  try {
    const { stdout } = await run('ansible-playbook', ['--version'], { timeout: 30_000 });
    return stdout.split('\n')[0];
  } catch {
    throw new PreflightError(
      'ansible-playbook is not installed (or not on PATH)',
      'install it with `apt-get update && apt-get install -y ansible-core` (or `pipx install ansible-core`)',
    );
  }
}
