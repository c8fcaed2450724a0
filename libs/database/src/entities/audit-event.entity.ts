import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { AUDIT_OUTCOME_CHECK, type AuditOutcome } from './checks';

/** One entry of the audit trail: who did what, when, from where, and whether it was allowed. */
@Entity({ name: 'audit_events' })
@Check('ck_audit_events_outcome', AUDIT_OUTCOME_CHECK)
@Index('ix_audit_events_actor', { synchronize: false })
@Index('ix_audit_events_action', { synchronize: false })
@Index('ix_audit_events_operation', { synchronize: false })
export class AuditEventEntity {
  /** bigserial: the driver returns it as a string. */
  @PrimaryGeneratedColumn('increment', { name: 'id', type: 'bigint' })
  id!: string;

  @Column({ name: 'at', type: 'timestamptz', default: () => 'now()' })
  at!: Date;

  /** `token:<name>`, `console:<os user>`, `anonymous`, … */
  @Column({ name: 'actor', type: 'text' })
  actor!: string;

  /** `operation.create`, `token.revoke`, or for a request refused before routing `http <METHOD> <path>`. */
  @Column({ name: 'action', type: 'text' })
  action!: string;

  @Column({ name: 'outcome', type: 'text' })
  outcome!: AuditOutcome;

  @Column({ name: 'operation_id', type: 'uuid', nullable: true })
  operationId!: string | null;

  /** The remote address of an api request, or `console`. */
  @Column({ name: 'source', type: 'text', nullable: true })
  source!: string | null;

  @Column({ name: 'detail', type: 'jsonb', default: {} })
  detail!: Record<string, unknown>;
}
