import { Injectable } from '@nestjs/common';
import { Catalogue, catalogueOptionsFromEnv, loadCatalogue } from '@app/catalogue';

/** The catalogue (CATALOGUE_DIR, PLAYBOOKS_DIR), loaded on first use: only op:create needs it. */
@Injectable()
export class ConsoleCatalogue {
  private catalogue?: Catalogue;

  get(): Catalogue {
    this.catalogue ??= loadCatalogue(catalogueOptionsFromEnv());
    return this.catalogue;
  }
}
