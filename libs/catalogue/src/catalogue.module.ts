import { type DynamicModule, Global, Module } from '@nestjs/common';
import { Catalogue } from './catalogue';
import { CatalogueSettings } from './catalogue.settings';
import { loadCatalogue, type CatalogueOptions } from './load';

/**
 * Provides the `Catalogue`, loaded once at start-up from the app's CatalogueSettings (or
 * the options given): a bad catalogue stops the app booting.
 */
@Global()
@Module({})
export class CatalogueModule {
  static forRoot(options?: CatalogueOptions): DynamicModule {
    return {
      module: CatalogueModule,
      providers: [
        options
          ? { provide: Catalogue, useFactory: () => loadCatalogue(options) }
          : {
              provide: Catalogue,
              inject: [CatalogueSettings],
              useFactory: (settings: CatalogueSettings) => loadCatalogue(settings),
            },
      ],
      exports: [Catalogue],
    };
  }
}
