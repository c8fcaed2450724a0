import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { AmqpChannels, countDeadLetters } from '@app/amqp';
import { DispatchService } from './dispatch.service';
import { DispatcherSettings } from './dispatcher.settings';

/**
 * The dispatcher's metrics, every one labelled with its `dispatcher` id and `pool`. The
 * gauges are read from DispatchService only when Prometheus scrapes; the counter of ended
 * operations is bumped once per operation.
 */
@Injectable()
export class DispatcherMetrics {
  private readonly finished: Counter<'type' | 'status'>;

  constructor(
    registry: Registry,
    amqp: AmqpChannels,
    dispatcher: DispatchService,
    config: DispatcherSettings,
  ) {
    registry.setDefaultLabels({ dispatcher: config.id, pool: config.pool });
    const registers = [registry];
    new Gauge({
      name: 'aegir_dispatcher_slots',
      help: 'Operations this dispatcher runs at once at most (DISPATCHER_CONCURRENCY)',
      registers,
      collect() {
        this.set(config.concurrency);
      },
    });
    new Gauge({
      name: 'aegir_dispatcher_running_tasks',
      help: 'Operations running on this dispatcher, each in one task at a time',
      registers,
      collect() {
        this.set(dispatcher.load().running);
      },
    });
    new Gauge({
      name: 'aegir_dispatcher_buffered_lines',
      help: 'Lines of output held in memory, not yet confirmed by the broker',
      registers,
      collect() {
        this.set(dispatcher.load().bufferedLines);
      },
    });
    new Gauge({
      name: 'aegir_dispatcher_spill_bytes',
      help: 'Bytes of output in spill files, waiting for the broker',
      registers,
      collect() {
        this.set(dispatcher.load().spilledBytes);
      },
    });
    this.finished = new Counter({
      name: 'aegir_dispatcher_operations_finished_total',
      help: 'Operations this dispatcher ran to an end, by type and the status it reported',
      labelNames: ['type', 'status'],
      registers,
    });
    countDeadLetters(registry, amqp);
    dispatcher.onFinished((type, status) => this.finished.inc({ type, status }));
  }
}
