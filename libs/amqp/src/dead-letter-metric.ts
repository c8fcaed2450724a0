import { Counter, type Registry } from 'prom-client';
import type { AmqpChannels } from './amqp.module';

/** `aegir_dead_lettered_total{queue}`: messages this app's consumers dead-lettered. */
export function countDeadLetters(registry: Registry, channels: AmqpChannels): Counter<'queue'> {
  const counter = new Counter({
    name: 'aegir_dead_lettered_total',
    help: 'Messages this app dead-lettered (undecodable, refused, or their handler failed), by the queue they came from',
    labelNames: ['queue'],
    registers: [registry],
  });
  channels.onDeadLetter((queue) => counter.inc({ queue }));
  return counter;
}
