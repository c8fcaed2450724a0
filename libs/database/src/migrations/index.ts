import { Init1764500000000 } from './1764500000000-init';
import { AttemptsCancelExclusive1764600000000 } from './1764600000000-attempts-cancel-exclusive';
import { LogLinesBulk1764700000000 } from './1764700000000-log-lines-bulk';
import { TokensAudit1764800000000 } from './1764800000000-tokens-audit';
import { OutboxPublishedPayload1764950000000 } from './1764950000000-outbox-published-payload';
import { Dispatchers1765000000000 } from './1765000000000-dispatchers';

export {
  Init1764500000000,
  AttemptsCancelExclusive1764600000000,
  LogLinesBulk1764700000000,
  TokensAudit1764800000000,
  OutboxPublishedPayload1764950000000,
  Dispatchers1765000000000,
};

/** Every migration, oldest first. Add new ones here: the DataSource lists classes, not globs. */
export const MIGRATIONS = [
  Init1764500000000,
  AttemptsCancelExclusive1764600000000,
  LogLinesBulk1764700000000,
  TokensAudit1764800000000,
  OutboxPublishedPayload1764950000000,
  Dispatchers1765000000000,
];
