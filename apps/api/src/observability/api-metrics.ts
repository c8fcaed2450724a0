import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { OpenStreams, STREAM_KINDS } from '../streams/open-streams';

/**
 * The api's own metrics: what it changed, and what it serves. Each counter is bumped once per
 * request that did it, and the streams gauge is read when Prometheus scrapes; the process
 * metrics come with the Registry.
 */
@Injectable()
export class ApiMetrics {
  private readonly created: Counter<'type'>;
  private readonly ended: Counter<'type' | 'status'>;

  constructor(registry: Registry, streams: OpenStreams) {
    const registers = [registry];
    this.created = new Counter({
      name: 'aegir_operations_created_total',
      help: 'Operations this app created (the api: POST /operations and retries), by type',
      labelNames: ['type'],
      registers,
    });
    this.ended = new Counter({
      name: 'aegir_operations_ended_total',
      help: 'Operations this app moved to a terminal status (the api: cancels before a claim), by type and status',
      labelNames: ['type', 'status'],
      registers,
    });
    new Gauge({
      name: 'aegir_sse_streams_open',
      help: 'Server-sent event streams open on this api process, by kind (log: one operation’s live log; operations: the status changes of all)',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const kind of STREAM_KINDS) this.set({ kind }, streams.count(kind));
      },
    });
  }

  operationCreated(type: string): void {
    this.created.inc({ type });
  }

  operationEnded(type: string, status: string): void {
    this.ended.inc({ type, status });
  }
}
