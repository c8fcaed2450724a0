import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { CatalogueSettings, loadCatalogue } from '@app/catalogue';
import { createKeySet, KeyFileError } from '@app/platform';
import { Command, CommandRunner, Option } from 'nest-commander';
import { CliError } from '../cli-error';
import { out } from '../output';

interface KeysCreateOptions {
  dir?: string;
}

@Command({
  name: 'keys:create',
  description:
    "Create the relay's signing key pair and a sealing key pair per catalogue pool in --dir (private halves 0600); never overwrites",
})
export class KeysCreateCommand extends CommandRunner {
  constructor(private readonly catalogue: CatalogueSettings) {
    super();
  }

  async run(_args: string[], options: KeysCreateOptions): Promise<void> {
    if (!options.dir) throw new CliError('--dir is required: where to write the key files');
    const dir = resolve(options.dir);
    const pools = loadCatalogue(this.catalogue).pools();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let files;
    try {
      files = createKeySet(dir, pools);
    } catch (error) {
      if (error instanceof KeyFileError) throw new CliError(error.message);
      throw error;
    }
    for (const file of files) {
      await out(`${file.private ? 'private' : 'public '}  ${file.path}  → ${file.holder}\n`);
    }
  }

  @Option({ flags: '--dir <path>', description: 'the directory to write the key files into' })
  parseDir(value: string): string {
    return value;
  }
}
