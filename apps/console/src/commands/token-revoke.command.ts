import { TOKEN_NAME_PATTERN, UUID_PATTERN } from '@app/database';
import { Command, CommandRunner, Option } from 'nest-commander';
import { BAD_INPUT, CliError } from '../cli-error';
import { ConsoleAudit } from '../console-audit';
import { ConsoleDatabase } from '../console-database';
import { out, printJson } from '../output';

@Command({
  name: 'token:revoke',
  arguments: '<token>',
  description: 'Revoke an api token, by name or id: it stops working at once',
  argsDescription: { token: 'the token’s name or id' },
})
export class TokenRevokeCommand extends CommandRunner {
  constructor(
    private readonly db: ConsoleDatabase,
    private readonly audit: ConsoleAudit,
  ) {
    super();
  }

  async run([ref]: string[], options: { json?: boolean }): Promise<void> {
    if (!UUID_PATTERN.test(ref) && !TOKEN_NAME_PATTERN.test(ref)) {
      throw new CliError(`token must be a token name or id, got ${JSON.stringify(ref)}`, BAD_INPUT);
    }
    const revoked = await (await this.db.tokens()).revoke(ref);
    if (!revoked) throw new CliError(`no token named or with id ${ref}`);
    const { token, changed } = revoked;
    if (changed) {
      await this.audit.ok('token.revoke', null, { tokenId: token.id, name: token.name });
    }
    if (options.json) return printJson(token);
    await out(
      changed
        ? `token ${token.name} (${token.id}) revoked\n`
        : `token ${token.name} (${token.id}) was already revoked at ${token.revokedAt}\n`,
    );
  }

  @Option({ flags: '--json', description: 'print the token as JSON' })
  parseJson(): boolean {
    return true;
  }
}
