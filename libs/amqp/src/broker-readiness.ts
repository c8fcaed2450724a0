import type { AmqpChannels } from './amqp.module';
import type { AmqpTransport } from './amqp-transport';

/**
 * The readiness check of an app on the broker (`/health/ready`): its connection is up and
 * each of `queues` has a consumer registered (after a reconnect, once it consumes again).
 */
export function brokerReadiness(
  channels: AmqpChannels,
  transport: AmqpTransport,
  queues: readonly string[],
): () => Promise<void> {
  return async () => {
    if (!channels.connected) throw new Error('not connected to RabbitMQ');
    const idle = queues.filter((queue) => !transport.consuming(queue));
    if (idle.length > 0) throw new Error(`not consuming ${idle.join(', ')}`);
  };
}
