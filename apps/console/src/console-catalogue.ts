import { Injectable } from '@nestjs/common';
import { Catalogue, CatalogueSettings, loadCatalogue } from '@app/catalogue';

/** The catalogue (CATALOGUE_DIR, PLAYBOOKS_DIR), loaded on first use: only op:create needs it. */
@Injectable()
export class ConsoleCatalogue {
  private catalogue?: Catalogue;

  constructor(private readonly settings: CatalogueSettings) {}

  get(): Catalogue {
    this.catalogue ??= loadCatalogue(this.settings);
    return this.catalogue;
  }
}
