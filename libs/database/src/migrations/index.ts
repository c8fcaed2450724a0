import { Init1764500000000 } from './1764500000000-init';

export { Init1764500000000 };

/** Every migration, oldest first. Add new ones here: the DataSource lists classes, not globs. */
export const MIGRATIONS = [Init1764500000000];
