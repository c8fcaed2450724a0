import { runMigrations } from '@app/database';
import { Command, CommandRunner } from 'nest-commander';
import { ConsoleDatabase } from '../console-database';
import { out } from '../output';

@Command({
  name: 'db:migrate',
  description: 'Apply the pending database migrations (DATABASE_URL)',
})
export class DbMigrateCommand extends CommandRunner {
  constructor(private readonly db: ConsoleDatabase) {
    super();
  }

  async run(): Promise<void> {
    const applied = await runMigrations(await this.db.dataSource());
    if (applied.length === 0) {
      await out('database is up to date\n');
      return;
    }
    for (const name of applied) await out(`applied ${name}\n`);
  }
}
