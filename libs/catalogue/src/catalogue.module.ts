import { type DynamicModule, Global, Module } from '@nestjs/common';
import { resolve } from 'node:path';
import { Catalogue } from './catalogue';
import { loadCatalogue, type CatalogueOptions } from './load';

/** CATALOGUE_DIR and PLAYBOOKS_DIR, defaulting to ./catalogue and ./playbooks. */
export function catalogueOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): CatalogueOptions {
  return {
    dir: resolve(env.CATALOGUE_DIR || 'catalogue'),
    playbooksDir: resolve(env.PLAYBOOKS_DIR || 'playbooks'),
  };
}

/** Provides the `Catalogue`, loaded once at start-up: a bad catalogue stops the app booting. */
@Global()
@Module({})
export class CatalogueModule {
  static forRoot(options?: CatalogueOptions): DynamicModule {
    return {
      module: CatalogueModule,
      providers: [
        {
          provide: Catalogue,
          useFactory: () => loadCatalogue(options ?? catalogueOptionsFromEnv()),
        },
      ],
      exports: [Catalogue],
    };
  }
}
