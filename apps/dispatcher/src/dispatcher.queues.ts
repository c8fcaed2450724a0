import { EnvelopeDeserializer, type TransportQueue } from '@app/amqp';
import { Exchanges, Queues } from '@app/contracts';
import type { DispatcherSettings } from './dispatcher.settings';
import type { SignatureVerifier } from './signature-verifier';

/**
 * A fixed name: claims sent before a reconnect are still answered to it afterwards. It
 * holds the pool so that the pool's broker user may declare it, and no other queue.
 */
export function controlQueueOf(config: Pick<DispatcherSettings, 'pool' | 'id'>): string {
  return Queues.control(config.pool, config.id);
}

/**
 * The control queue first: claims need somewhere to be answered before work is taken.
 * It is this dispatcher's own (exclusive), bound to the control fanout for cancels. Both
 * take only what the relay signed (SignatureVerifier).
 */
export function dispatcherQueues(
  config: DispatcherSettings,
  verifier: SignatureVerifier,
): TransportQueue[] {
  const control = controlQueueOf(config);
  return [
    {
      queue: control,
      prefetch: 100,
      patterns: ['cancel', 'claim-result'],
      deserializer: new EnvelopeDeserializer(verifier.control),
      assertQueue: async (channel) => {
        await channel.assertQueue(control, { exclusive: true, autoDelete: true });
        await channel.bindQueue(control, Exchanges.control, '');
        return control;
      },
    },
    {
      queue: Queues.dispatch(config.pool),
      prefetch: config.concurrency,
      patterns: ['dispatch'],
      deserializer: new EnvelopeDeserializer(verifier.dispatch),
    },
  ];
}
