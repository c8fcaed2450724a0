import { Check, Column, Entity, PrimaryColumn, Unique } from 'typeorm';
import { TOKEN_ROLE_CHECK, type TokenRole } from './checks';

/** An api token. Only the SHA-256 of its secret is stored; the token itself is shown once. */
@Entity({ name: 'api_tokens' })
@Check('ck_api_tokens_role', TOKEN_ROLE_CHECK)
@Unique('uq_api_tokens_name', ['name'])
export class ApiTokenEntity {
  /** Also the middle part of the token, so a check reads one row by key. */
  @PrimaryColumn({ name: 'id', type: 'uuid' })
  id!: string;

  @Column({ name: 'name', type: 'text' })
  name!: string;

  @Column({ name: 'role', type: 'text' })
  role!: TokenRole;

  /** A glob of the operation types the token may act on; null: any. */
  @Column({ name: 'types', type: 'text', nullable: true })
  types!: string | null;

  /** A glob of the targets the token may act on; null: any. */
  @Column({ name: 'targets', type: 'text', nullable: true })
  targets!: string | null;

  /** SHA-256 of the secret part, hex. */
  @Column({ name: 'hash', type: 'text' })
  hash!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
