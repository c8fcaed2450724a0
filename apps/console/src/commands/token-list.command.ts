import { Command, CommandRunner, Option } from 'nest-commander';
import { ConsoleDatabase } from '../console-database';
import { out, printJson } from '../output';
import { tokensTable } from '../token-format';

@Command({
  name: 'token:list',
  description: 'List the api tokens (never their secrets or hashes), newest first',
})
export class TokenListCommand extends CommandRunner {
  constructor(private readonly db: ConsoleDatabase) {
    super();
  }

  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    const tokens = await (await this.db.tokens()).list();
    if (options.json) return printJson(tokens);
    if (tokens.length === 0) return out('no tokens\n');
    await out(tokensTable(tokens));
  }

  @Option({ flags: '--json', description: 'print the tokens as JSON' })
  parseJson(): boolean {
    return true;
  }
}
