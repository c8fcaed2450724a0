export * from './checks';
export * from './operation.entity';
export * from './task.entity';
export * from './log-line.entity';
export * from './outbox.entity';
export * from './api-token.entity';
export * from './audit-event.entity';
export * from './dispatcher.entity';

import { ApiTokenEntity } from './api-token.entity';
import { AuditEventEntity } from './audit-event.entity';
import { DispatcherEntity } from './dispatcher.entity';
import { LogLineEntity } from './log-line.entity';
import { OperationEntity } from './operation.entity';
import { OutboxEntity } from './outbox.entity';
import { TaskEntity } from './task.entity';

export const ENTITIES = [
  OperationEntity,
  TaskEntity,
  LogLineEntity,
  OutboxEntity,
  ApiTokenEntity,
  AuditEventEntity,
  DispatcherEntity,
];
