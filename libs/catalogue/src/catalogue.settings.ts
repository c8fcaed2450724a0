import { resolve } from 'node:path';
import { PathVariable } from '@app/platform';
import type { CatalogueOptions } from './load';

/** Where the operation types and their playbooks are (api, dispatcher, console). */
export class CatalogueSettings implements CatalogueOptions {
  @PathVariable('CATALOGUE_DIR')
  readonly dir: string = resolve('catalogue');

  @PathVariable('PLAYBOOKS_DIR')
  readonly playbooksDir: string = resolve('playbooks');
}
