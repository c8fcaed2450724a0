export * from './types';
export { Catalogue, catalogueReadiness, TARGET_PATTERN, type PlanRequest } from './catalogue';
export { CatalogueError, PlanError } from './catalogue-errors';
export {
  checkCatalogue,
  loadCatalogue,
  parseYaml,
  type CatalogueCheck,
  type CatalogueOptions,
} from './load';
export * from './listing';
export { CatalogueModule } from './catalogue.module';
export { CatalogueSettings } from './catalogue.settings';
export { MAX_SECRET_LENGTH } from './params-schema';
export { poolsWithSecrets, sealPlan, type Sealer } from './plan-sealer';
