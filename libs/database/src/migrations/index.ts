import { Init1764500000000 } from './1764500000000-init';
import { AttemptsCancelExclusive1764600000000 } from './1764600000000-attempts-cancel-exclusive';

export { Init1764500000000, AttemptsCancelExclusive1764600000000 };

/** Every migration, oldest first. Add new ones here: the DataSource lists classes, not globs. */
export const MIGRATIONS = [Init1764500000000, AttemptsCancelExclusive1764600000000];
