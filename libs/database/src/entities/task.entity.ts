import type { CatalogueTask } from '@app/catalogue';
import type { OperationStatus } from '@app/contracts';
import {
  Check,
  Column,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  Unique,
  type Relation,
} from 'typeorm';
import { STATUS_CHECK } from './checks';
import { OperationEntity } from './operation.entity';

/** One step of an operation, in the order the catalogue type lists them. */
@Entity({ name: 'tasks' })
@Check('ck_tasks_status', STATUS_CHECK)
@Check('ck_tasks_position', 'position >= 0')
@Unique('uq_tasks_operation_position', ['operationId', 'position'])
export class TaskEntity {
  @PrimaryColumn({ name: 'id', type: 'uuid' })
  id!: string;

  @Column({ name: 'operation_id', type: 'uuid' })
  operationId!: string;

  @ManyToOne(() => OperationEntity, (operation) => operation.tasks, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'operation_id', foreignKeyConstraintName: 'fk_tasks_operation' })
  operation?: Relation<OperationEntity>;

  @Column({ name: 'position', type: 'integer' })
  position!: number;

  @Column({ name: 'name', type: 'text' })
  name!: string;

  @Column({ name: 'runner', type: 'text' })
  runner!: CatalogueTask['runner'];

  @Column({ name: 'status', type: 'text' })
  status!: OperationStatus;

  @Column({ name: 'exit_code', type: 'integer', nullable: true })
  exitCode!: number | null;

  @Column({ name: 'reason', type: 'text', nullable: true })
  reason!: string | null;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
