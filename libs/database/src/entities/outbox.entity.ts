import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
} from 'typeorm';
import { OUTBOX_KIND_CHECK, OUTBOX_PUBLISHED_PAYLOAD_CHECK, type OutboxKind } from './checks';
import { OperationEntity } from './operation.entity';

/** A message waiting to be published by the relay, written in the same transaction as its cause. */
@Entity({ name: 'outbox' })
@Check('ck_outbox_kind', OUTBOX_KIND_CHECK)
@Check('ck_outbox_published_payload', OUTBOX_PUBLISHED_PAYLOAD_CHECK)
@Index('ix_outbox_pending', { synchronize: false })
@Index('ix_outbox_operation', { synchronize: false })
export class OutboxEntity {
  /** bigint identity: the driver returns it as a string. */
  @PrimaryGeneratedColumn('identity', { name: 'id', type: 'bigint', generatedIdentity: 'ALWAYS' })
  id!: string;

  @Column({ name: 'kind', type: 'text' })
  kind!: OutboxKind;

  @Column({ name: 'operation_id', type: 'uuid' })
  operationId!: string;

  @ManyToOne(() => OperationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'operation_id', foreignKeyConstraintName: 'fk_outbox_operation' })
  operation?: Relation<OperationEntity>;

  @Column({ name: 'exchange', type: 'text' })
  exchange!: string;

  @Column({ name: 'routing_key', type: 'text' })
  routingKey!: string;

  /** The message; `{}` once published (ck_outbox_published_payload). */
  @Column({ name: 'payload', type: 'jsonb' })
  payload!: object;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'available_at', type: 'timestamptz', default: () => 'now()' })
  availableAt!: Date;

  @Column({ name: 'published_at', type: 'timestamptz', nullable: true })
  publishedAt!: Date | null;

  @Column({ name: 'attempts', type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;
}
