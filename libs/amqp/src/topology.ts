import type { Channel } from 'amqplib';
import type { Topology } from '@app/contracts';

/** Asserts exchanges, queues and bindings; idempotent, and run again on every reconnect. */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const exchange of topology.exchanges) {
    await channel.assertExchange(exchange.name, exchange.type, { durable: true });
  }
  for (const queue of topology.queues) {
    await channel.assertQueue(queue.name, { durable: true, arguments: queue.arguments });
    for (const binding of queue.bindings) {
      await channel.bindQueue(queue.name, binding.exchange, binding.routingKey);
    }
  }
}

/**
 * Checks, without declaring anything, that every exchange and queue of `topology` exists
 * (a passive declare needs no permission). Throws naming the first one missing.
 */
export async function checkTopology(connection: ChannelSource, topology: Topology): Promise<void> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined); // a 404 closes the channel; the failed call reports it
  const check = async (what: string, name: string, probe: () => Promise<unknown>) => {
    try {
      await probe();
    } catch (error) {
      throw new Error(
        `${what} ${name} is missing on the broker (${describe(error)}): run aegir broker:setup`,
      );
    }
  };
  for (const exchange of topology.exchanges) {
    await check('exchange', exchange.name, () => channel.checkExchange(exchange.name));
  }
  for (const queue of topology.queues) {
    await check('queue', queue.name, () => channel.checkQueue(queue.name));
  }
  await channel.close().catch(() => undefined);
}

/** What checkTopology needs of an amqplib connection. */
export interface ChannelSource {
  createChannel(): Promise<Channel>;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
