/** A catalogue file (or the catalogue directory) is unusable; raised at start-up. */
export class CatalogueError extends Error {
  override readonly name = 'CatalogueError';
}

/** A request (or a dispatched task) does not fit the catalogue; `field` names the culprit. */
export class PlanError extends Error {
  override readonly name = 'PlanError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
