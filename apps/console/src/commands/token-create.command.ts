import { ConflictError, parseDuration, TokenRequestError, type TokenRole } from '@app/database';
import { Command, CommandRunner, Option } from 'nest-commander';
import { BAD_INPUT, CliError } from '../cli-error';
import { ConsoleAudit } from '../console-audit';
import { ConsoleDatabase } from '../console-database';
import { out, printJson, write } from '../output';

interface TokenCreateOptions {
  name?: string;
  role?: string;
  types?: string;
  targets?: string;
  expires?: string;
  json?: boolean;
}

@Command({
  name: 'token:create',
  description:
    'Create an api token and print it, once: only its hash is stored. viewer reads; operator also creates, cancels and retries; admin also manages tokens and reads the audit',
})
export class TokenCreateCommand extends CommandRunner {
  constructor(
    private readonly db: ConsoleDatabase,
    private readonly audit: ConsoleAudit,
  ) {
    super();
  }

  async run(_args: string[], options: TokenCreateOptions): Promise<void> {
    if (options.name === undefined) throw new CliError('--name is required', BAD_INPUT);
    if (options.role === undefined) throw new CliError('--role is required', BAD_INPUT);
    const request = {
      name: options.name,
      role: options.role as TokenRole,
      types: options.types ?? null,
      targets: options.targets ?? null,
      expiresInSeconds: null as number | null,
    };
    let created;
    try {
      if (options.expires !== undefined) {
        request.expiresInSeconds = parseDuration('--expires', options.expires);
      }
      created = await (await this.db.tokens()).create(request);
    } catch (error) {
      if (error instanceof TokenRequestError) {
        throw new CliError(
          error.message.replace(/^(name|role|types|targets) /, '--$1 '),
          BAD_INPUT,
        );
      }
      if (error instanceof ConflictError) throw new CliError(error.message, BAD_INPUT);
      throw error;
    }
    const { token, view } = created;
    await this.audit.ok('token.create', null, {
      tokenId: view.id,
      name: view.name,
      role: view.role,
      types: view.types,
      targets: view.targets,
      expiresAt: view.expiresAt,
    });
    if (options.json) return printJson({ token, ...view });
    await write(
      process.stderr,
      `token ${view.name} created (id ${view.id}, role ${view.role}, types ${view.types ?? '*'}, targets ${view.targets ?? '*'}, ${view.expiresAt ? `expires ${view.expiresAt}` : 'no expiry'}); it is shown only now:\n`,
    );
    await out(`${token}\n`);
  }

  @Option({ flags: '--name <name>', description: 'a unique name, e.g. ci-deploy' })
  parseName(value: string): string {
    return value;
  }

  @Option({ flags: '--role <role>', description: 'viewer, operator or admin' })
  parseRole(value: string): string {
    return value;
  }

  @Option({
    flags: '--types <glob>',
    description: 'only operation types matching this glob, e.g. "site.*" (default: any)',
  })
  parseTypes(value: string): string {
    return value;
  }

  @Option({
    flags: '--targets <glob>',
    description: 'only targets matching this glob, e.g. "web*" or "{web1,web2}" (default: any)',
  })
  parseTargets(value: string): string {
    return value;
  }

  @Option({
    flags: '--expires <duration>',
    description: 'stops working after 30m, 12h, 90d, … (default: until revoked)',
  })
  parseExpires(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print {token, id, name, role, …} as JSON' })
  parseJson(): boolean {
    return true;
  }
}
