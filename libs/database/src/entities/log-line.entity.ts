import type { LogStream } from '@app/contracts';
import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import { STREAM_CHECK } from './checks';

/**
 * One output line of an operation, keyed by `(operation_id, seq)`: writes are idempotent
 * (`ON CONFLICT DO NOTHING`) and the same index reads a log back in order. There is no
 * foreign key, for bulk speed: the relay checks the operations of each batch, and deleting an
 * operation deletes its lines by trigger (migration LogLinesBulk1764700000000).
 */
@Entity({ name: 'log_lines' })
@Check('ck_log_lines_stream', STREAM_CHECK)
export class LogLineEntity {
  @PrimaryColumn({ name: 'operation_id', type: 'uuid', primaryKeyConstraintName: 'pk_log_lines' })
  operationId!: string;

  @Column({ name: 'task_id', type: 'uuid', nullable: true })
  taskId!: string | null;

  /** bigint: the driver returns it as a string. */
  @PrimaryColumn({ name: 'seq', type: 'bigint', primaryKeyConstraintName: 'pk_log_lines' })
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
