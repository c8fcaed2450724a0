import { randomBytes } from 'node:crypto';
import {
  brokerTopology,
  brokerUsers,
  vhostOfUrl,
  type BrokerUser,
  type Topology,
} from '@app/contracts';
import type { BrokerAdmin } from './broker-admin';

export interface BrokerSetupRequest {
  /** Where the apps connect: its host, port and vhost are kept, its credentials are not used. */
  amqpUrl: string;
  pools: readonly string[];
  /** Passwords to set, by role (`relay`, `console`, `dispatcher-<pool>`). */
  passwords?: Partial<Record<string, string>>;
  /** Give every user without a password above a new generated one, even one that exists. */
  rotate?: boolean;
  /** Whether generated passwords have somewhere to go (an output directory). */
  canKeepGenerated: boolean;
}

/** What happened to one user. */
export interface SetUpUser extends BrokerUser {
  outcome: 'created' | 'password set' | 'kept';
  /** Its full AMQP URL when its password was set by this run (else undefined: unchanged). */
  url?: string;
}

export interface BrokerSetupResult {
  vhost: string;
  topology: Topology;
  users: SetUpUser[];
}

export class BrokerSetupError extends Error {
  override readonly name = 'BrokerSetupError';
}

/**
 * Makes the vhost, its users with exactly their permissions, and the whole topology; safe
 * to run again (a user that exists keeps its password unless one is given or `rotate`).
 * Checks every user first, so that nothing is changed when a new user would get a password
 * nobody could read.
 */
export async function setUpBroker(
  admin: BrokerAdmin,
  request: BrokerSetupRequest,
): Promise<BrokerSetupResult> {
  const vhost = vhostOfUrl(request.amqpUrl);
  const topology = brokerTopology(request.pools);
  const planned = await Promise.all(
    brokerUsers(vhost, request.pools).map(async (user) => {
      const exists = await admin.userExists(user.name);
      const given = request.passwords?.[user.role];
      const generate = given === undefined && (!exists || request.rotate === true);
      return { user, exists, password: given ?? (generate ? newPassword() : undefined), generate };
    }),
  );
  const unkept = planned.filter((entry) => entry.generate && !request.canKeepGenerated);
  if (unkept.length > 0) {
    throw new BrokerSetupError(
      `${unkept.map((entry) => entry.user.name).join(', ')} would get a generated password that ` +
        'nobody could read: give --out DIR (each URL is written there, 0600) or the passwords ' +
        '(BROKER_RELAY_PASSWORD, BROKER_CONSOLE_PASSWORD, BROKER_DISPATCHER_PASSWORDS)',
    );
  }

  await admin.ensureVhost(vhost);
  if (!(await admin.hasPermissions(vhost, admin.user))) {
    await admin.setPermissions(vhost, admin.user, { configure: '.*', write: '.*', read: '.*' });
  }
  for (const exchange of topology.exchanges) await admin.declareExchange(vhost, exchange);
  for (const queue of topology.queues) {
    await admin.declareQueue(vhost, queue);
    for (const binding of queue.bindings) {
      await admin.bind(vhost, binding.exchange, queue.name, binding.routingKey);
    }
  }
  const users: SetUpUser[] = [];
  for (const { user, exists, password } of planned) {
    if (password !== undefined) await admin.putUser(user.name, password);
    await admin.setPermissions(vhost, user.name, user.permissions);
    users.push({
      ...user,
      outcome: password === undefined ? 'kept' : exists ? 'password set' : 'created',
      url: password === undefined ? undefined : urlFor(request.amqpUrl, user.name, password),
    });
  }
  return { vhost, topology, users };
}

/** The AMQP URL of `user`: the same broker and vhost as `amqpUrl`. */
export function urlFor(amqpUrl: string, user: string, password: string): string {
  const url = new URL(amqpUrl);
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  return url.toString();
}

/** 32 random bytes, URL-safe: nothing in it needs escaping in a URL. */
function newPassword(): string {
  return randomBytes(32).toString('base64url');
}
