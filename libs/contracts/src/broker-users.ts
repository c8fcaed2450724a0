import { Exchanges, POOL_PATTERN, Queues } from './names';

/** What a RabbitMQ user may do in one vhost: regexes over exchange and queue names. */
export interface BrokerPermissions {
  configure: string;
  write: string;
  read: string;
}

/** One broker user `aegir broker:setup` makes, and why. */
export interface BrokerUser {
  /** `relay`, `console` or `dispatcher-<pool>`: also the name of its URL file. */
  role: string;
  /** The RabbitMQ user name: the role and the vhost, so that two vhosts never share a user. */
  name: string;
  /** The dispatcher pool it serves, for a dispatcher's user. */
  pool?: string;
  permissions: BrokerPermissions;
}

/** RabbitMQ's name, in permissions, for the default exchange (`""`). */
const DEFAULT_EXCHANGE = 'amq.default';
/** A regex that matches no name at all. */
const NOTHING = '^$';

const escape = (name: string): string => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exactly = (...names: string[]): string => `^(${names.map(escape).join('|')})$`;

/** `aegir-<role>@<vhost>`: a pool has no `@`, so the role and the vhost always part cleanly. */
export function brokerUserName(vhost: string, role: string): string {
  return `aegir-${role}@${vhost}`;
}

/** The pool whose dispatchers' user this is, in this vhost; undefined for any other user. */
export function poolOfBrokerUser(vhost: string, user: string | undefined): string | undefined {
  const suffix = `@${vhost}`;
  const prefix = 'aegir-dispatcher-';
  if (!user?.startsWith(prefix) || !user.endsWith(suffix)) return undefined;
  const pool = user.slice(prefix.length, user.length - suffix.length);
  return POOL_PATTERN.test(pool) ? pool : undefined;
}

/** The vhost an AMQP URL names (its path; `/` when there is none). */
export function vhostOfUrl(url: string): string {
  const path = new URL(url).pathname;
  return path === '' || path === '/' ? '/' : decodeURIComponent(path.slice(1));
}

/**
 * The users of one vhost and what each may touch, and nothing more:
 * - the relay publishes dispatches, cancels, claim answers (through the default exchange)
 *   and dead letters, and consumes the events and claims queues; it declares nothing;
 * - a pool's dispatchers consume the pool's queue, publish events, claims and dead letters,
 *   and declare only their own control queues (`aegir.control.<pool>.<id>`), which they may
 *   bind to the control fanout;
 * - the console reads the dead-letter queue (`aegir dlq:list`, `dlq:purge`) and publishes
 *   replays (`aegir dlq:replay`) to the dispatch exchange and the control fanout only: it
 *   publishes as itself (no `impersonator` tag), and the dispatchers take those messages only
 *   with the relay's signature, which a replay carries unchanged.
 */
export function brokerUsers(vhost: string, pools: readonly string[]): BrokerUser[] {
  const user = (role: string, permissions: BrokerPermissions, pool?: string): BrokerUser => ({
    role,
    name: brokerUserName(vhost, role),
    ...(pool === undefined ? {} : { pool }),
    permissions,
  });
  return [
    user('relay', {
      configure: NOTHING,
      write: exactly(Exchanges.dispatch, Exchanges.control, Exchanges.deadLetter, DEFAULT_EXCHANGE),
      read: exactly(Queues.events, Queues.claims),
    }),
    user('console', {
      configure: NOTHING,
      write: exactly(Exchanges.dispatch, Exchanges.control),
      read: exactly(Queues.deadLetter),
    }),
    ...[...new Set(pools)].sort().map((pool) => {
      const ownControl = `${escape(Queues.control(pool, ''))}.+`;
      return user(
        `dispatcher-${pool}`,
        {
          configure: `^${ownControl}$`,
          write: `^(${escape(Exchanges.events)}|${escape(Exchanges.deadLetter)}|${ownControl})$`,
          read: `^(${escape(Queues.dispatch(pool))}|${escape(Exchanges.control)}|${ownControl})$`,
        },
        pool,
      );
    }),
  ];
}
