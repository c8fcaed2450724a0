import { Injectable, Logger } from '@nestjs/common';
import { AmqpSettings, Refuse, type AmqpContext } from '@app/amqp';
import {
  poolOfBrokerUser,
  Queues,
  vhostOfUrl,
  type ClaimMessage,
  type EventMessage,
  type StatusMessage,
} from '@app/contracts';
import { logEntry } from '@app/platform';
import { OperationOwners, type OperationOwner } from './operation-owners';
import { RefusedMessages } from './refused-messages';

/** Who sent a delivery: the broker checked `userId`; `appId` is the dispatcher's own word. */
export interface Sender {
  userId?: string;
  appId?: string;
  queue: string;
}

export function senderOf(context: AmqpContext): Sender {
  const { userId, appId } = context.getMessage().properties as { userId?: string; appId?: string };
  return { userId, appId, queue: context.getQueue() };
}

/** Why a message is refused; undefined when it is accepted. */
export type Verdict = string | undefined;

/**
 * Who may report on an operation: the broker user of the operation's pool (the broker
 * checked the message's `user_id`), and for lines and statuses only the dispatcher that
 * holds its claim (the message's `app_id`, and every status's `dispatcherId`). A verdict
 * comes at once when the owner is known; else after one read, kept for the next messages.
 */
@Injectable()
export class MessageSenders {
  private readonly logger = new Logger(MessageSenders.name);
  private readonly vhost: string;

  constructor(
    amqp: AmqpSettings,
    private readonly owners: OperationOwners,
    private readonly refused: RefusedMessages,
  ) {
    this.vhost = vhostOfUrl(amqp.url);
  }

  /** Lines, log, status, events and heartbeat. */
  checkEvent(event: EventMessage, sender: Sender): Verdict | Promise<Verdict> {
    const pool = poolOfBrokerUser(this.vhost, sender.userId);
    if (pool === undefined) return notAPoolUser(sender);
    if (!sender.appId) return 'no app-id: a dispatcher names itself on every message';
    if (event.kind === 'heartbeat') {
      if (event.pool !== pool)
        return `a heartbeat for pool ${event.pool} from the user of pool ${pool}`;
      if (event.dispatcherId !== sender.appId) {
        return `a heartbeat of dispatcher ${event.dispatcherId} sent by ${sender.appId}`;
      }
      return undefined;
    }
    const forged = statusesOf(event).find((status) => status.dispatcherId !== sender.appId);
    if (forged) return `a status of dispatcher ${forged.dispatcherId} sent by ${sender.appId}`;
    const judge = (owner: OperationOwner | undefined): Verdict => {
      // an unknown operation: its lines are refused as data, a status of it changes nothing
      if (!owner) return undefined;
      if (owner.pool !== pool) return ofAnotherPool(event.operationId, owner, pool);
      if (!owner.settled)
        return `operation ${event.operationId} is ${owner.status}: no dispatcher holds its claim`;
      if (owner.holder !== sender.appId) {
        return `operation ${event.operationId} is held by dispatcher ${owner.holder ?? '(none)'}, not ${sender.appId}`;
      }
      return undefined;
    };
    const owner = this.owners.settled(event.operationId);
    return owner ? judge(owner) : this.owners.read(event.operationId).then(judge);
  }

  /**
   * A claim: from a pool's user, for the sender itself, answered to its own queue. The
   * pool is the sender's; that it is the operation's too is checked where the claim is
   * decided, in the same statement.
   */
  checkClaim(
    claim: ClaimMessage,
    sender: Sender,
    replyTo: string | undefined,
  ): { pool: string } | { refused: string } {
    const pool = poolOfBrokerUser(this.vhost, sender.userId);
    if (pool === undefined) return { refused: notAPoolUser(sender) };
    if (claim.dispatcherId !== sender.appId) {
      return {
        refused: `a claim for dispatcher ${claim.dispatcherId} sent by ${sender.appId ?? '(no app-id)'}`,
      };
    }
    const own = Queues.control(pool, claim.dispatcherId);
    if (replyTo !== own || claim.replyTo !== own)
      return { refused: `a claim answered to ${replyTo ?? claim.replyTo}, not to ${own}` };
    return { pool };
  }

  /** A granted claim: the relay knows the operation's owner without asking PostgreSQL. */
  claimed(claim: ClaimMessage, pool: string): void {
    this.owners.claimed(claim.operationId, pool, claim.dispatcherId);
  }

  /** Records the refusal and gives the error whose message is the dead letter's reason. */
  async refuse(
    kind: string,
    operationId: string | null,
    sender: Sender,
    reason: string,
  ): Promise<never> {
    await this.refused
      .record(
        {
          actor: `${sender.userId ?? '(no user)'}/${sender.appId ?? '(no app-id)'}`,
          action: `message:${kind}`,
          outcome: 'refused',
          operationId,
          source: sender.queue,
          detail: reason,
        },
        sender.appId,
      )
      // the message is dead-lettered with its reason all the same
      .catch((error: unknown) =>
        this.logger.error(
          logEntry(`refusal not recorded: ${String(error)}`, {
            operationId: operationId ?? undefined,
            dispatcherId: sender.appId,
          }),
        ),
      );
    throw new Refuse(`refused: ${reason}`);
  }
}

function statusesOf(event: EventMessage): StatusMessage[] {
  if (event.kind === 'status') return [event];
  if (event.kind === 'events') {
    return event.events.filter((single): single is StatusMessage => single.kind === 'status');
  }
  return [];
}

function notAPoolUser(sender: Sender): string {
  return `sent by broker user ${sender.userId ?? '(none)'}, which is no dispatcher pool's user`;
}

export function ofAnotherPool(operationId: string, owner: { pool: string }, pool: string): string {
  return `operation ${operationId} is of pool ${owner.pool}, not of ${pool}`;
}
