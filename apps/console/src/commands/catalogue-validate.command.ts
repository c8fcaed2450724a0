import { checkCatalogue, CatalogueSettings } from '@app/catalogue';
import { Command, CommandRunner, Option } from 'nest-commander';
import { out, printJson } from '../output';

interface CatalogueValidateOptions {
  playbooksDir?: string;
  json?: boolean;
}

/**
 * Loads a catalogue directory with the apps' own loader (libs/catalogue), every file of it,
 * and prints each problem with its file and field: for a catalogue's CI. Exit 0 valid, 1 not.
 */
@Command({
  name: 'catalogue:validate',
  arguments: '<dir>',
  description:
    'Check a catalogue directory as the apps load it (schemas, placeholders, each playbook in the playbooks dir); every problem with its file and field; exit 0 valid, 1 not',
  argsDescription: { dir: 'the directory of *.yml operation type files' },
})
export class CatalogueValidateCommand extends CommandRunner {
  constructor(private readonly settings: CatalogueSettings) {
    super();
  }

  async run([dir]: string[], options: CatalogueValidateOptions): Promise<void> {
    const check = checkCatalogue({
      dir,
      playbooksDir: options.playbooksDir ?? this.settings.playbooksDir,
    });
    const valid = check.problems.length === 0;
    process.exitCode = valid ? 0 : 1;
    if (options.json) {
      return printJson({
        valid,
        dir: check.dir,
        playbooksDir: check.playbooksDir,
        files: check.files,
        types: check.catalogue?.types().map((type) => type.name) ?? [],
        problems: check.problems,
      });
    }
    if (valid) {
      const types = check.catalogue!.types().length;
      return out(
        `${check.dir}: valid, ${types} operation type${types === 1 ? '' : 's'} (playbooks in ${check.playbooksDir})\n`,
      );
    }
    for (const problem of check.problems) await out(`${problem}\n`);
    await out(
      `${check.dir}: ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'} in ${check.files.length} file${check.files.length === 1 ? '' : 's'}\n`,
    );
  }

  @Option({
    flags: '--playbooks-dir <dir>',
    description: "where the types' playbooks are (default PLAYBOOKS_DIR, else ./playbooks)",
  })
  parsePlaybooksDir(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print {valid, files, types, problems} as JSON' })
  parseJson(): boolean {
    return true;
  }
}
