import { EVENT_KINDS } from './messages';
import { Exchanges, Queues } from './names';

export interface ExchangeSpec {
  name: string;
  type: 'direct' | 'topic' | 'fanout';
}

export interface QueueSpec {
  name: string;
  arguments: Record<string, unknown>;
  bindings: { exchange: string; routingKey: string }[];
}

export interface Topology {
  exchanges: ExchangeSpec[];
  queues: QueueSpec[];
}

/**
 * Quorum queues that dead-letter what a consumer rejects. The delivery limit is a
 * last resort against a message that crashes its consumer: consumers themselves
 * dead-letter bad messages with a reason and never requeue them.
 */
function workQueue(name: string, deliveryLimit: number): Omit<QueueSpec, 'bindings'> {
  return {
    name,
    arguments: {
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': Exchanges.deadLetter,
      'x-delivery-limit': deliveryLimit,
    },
  };
}

/** The whole broker topology, declared the same way by `aegir broker:setup` and every app. */
export function brokerTopology(pools: readonly string[]): Topology {
  return {
    exchanges: [
      { name: Exchanges.dispatch, type: 'direct' },
      { name: Exchanges.events, type: 'topic' },
      { name: Exchanges.control, type: 'fanout' },
      { name: Exchanges.deadLetter, type: 'fanout' },
    ],
    queues: [
      ...[...new Set(pools)].sort().map((pool) => ({
        ...workQueue(Queues.dispatch(pool), 10),
        bindings: [{ exchange: Exchanges.dispatch, routingKey: pool }],
      })),
      {
        ...workQueue(Queues.events, 50),
        bindings: EVENT_KINDS.map((kind) => ({
          exchange: Exchanges.events,
          routingKey: kind,
        })),
      },
      {
        ...workQueue(Queues.claims, 50),
        bindings: [{ exchange: Exchanges.events, routingKey: 'claim' }],
      },
      {
        name: Queues.deadLetter,
        arguments: { 'x-queue-type': 'quorum' },
        bindings: [{ exchange: Exchanges.deadLetter, routingKey: '' }],
      },
    ],
  };
}
