import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A dispatcher as its last heartbeat showed it. Written only by the relay
 * (`OperationStateRepository.recordHeartbeats`), read through `DispatcherStore`.
 */
@Entity({ name: 'dispatchers' })
export class DispatcherEntity {
  @PrimaryColumn({ name: 'pool', type: 'text' })
  pool!: string;

  /** Its DISPATCHER_ID. */
  @PrimaryColumn({ name: 'dispatcher_id', type: 'text' })
  dispatcherId!: string;

  /** The operations its last heartbeat named: being claimed or running there. */
  @Column({ name: 'operations', type: 'uuid', array: true })
  operations!: string[];

  /** Its DISPATCHER_CONCURRENCY, when its heartbeat says it (dispatchers before issue 10 do not). */
  @Column({ name: 'concurrency', type: 'integer', nullable: true })
  concurrency!: number | null;

  /** The `at` of its first heartbeat the relay recorded (the dispatcher's clock). */
  @Column({ name: 'first_seen_at', type: 'timestamptz' })
  firstSeenAt!: Date;

  /** The `at` of its latest heartbeat. */
  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt!: Date;

  /** last_seen_at + the relay's RELAY_LOST_AFTER_MS: past it, the dispatcher is `silent`. */
  @Column({ name: 'silent_after', type: 'timestamptz' })
  silentAfter!: Date;
}
