import type { LogStream } from '@app/contracts';
import {
  Check,
  Column,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
  type Relation,
} from 'typeorm';
import { STREAM_CHECK } from './checks';
import { OperationEntity } from './operation.entity';

/**
 * One output line of an operation. `(operation_id, seq)` is unique: writes are idempotent
 * (`ON CONFLICT DO NOTHING`) and the same index reads a log back in order.
 */
@Entity({ name: 'log_lines' })
@Check('ck_log_lines_stream', STREAM_CHECK)
@Unique('uq_log_lines_operation_seq', ['operationId', 'seq'])
export class LogLineEntity {
  /** bigint identity: the driver returns it as a string. */
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'bigint', generatedIdentity: 'ALWAYS' })
  id!: string;

  @Column({ name: 'operation_id', type: 'uuid' })
  operationId!: string;

  @ManyToOne(() => OperationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'operation_id', foreignKeyConstraintName: 'fk_log_lines_operation' })
  operation?: Relation<OperationEntity>;

  @Column({ name: 'task_id', type: 'uuid', nullable: true })
  taskId!: string | null;

  /** bigint: the driver returns it as a string. */
  @Column({ name: 'seq', type: 'bigint' })
  seq!: string;

  @Column({ name: 'stream', type: 'text' })
  stream!: LogStream;

  @Column({ name: 'line', type: 'text' })
  line!: string;

  @Column({ name: 'emitted_at', type: 'timestamptz' })
  emittedAt!: Date;

  @Column({ name: 'stored_at', type: 'timestamptz', default: () => 'now()' })
  storedAt!: Date;

  /** A piece of a line longer than the dispatcher's limit: the next seq continues it. */
  @Column({ name: 'continues', type: 'boolean', default: false })
  continues!: boolean;
}
