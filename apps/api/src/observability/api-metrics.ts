import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The api's own metrics: what it changed, and what it serves. Each is bumped once per
 * request that did it; the process metrics come with the Registry.
 */
@Injectable()
export class ApiMetrics {
  private readonly created: Counter<'type'>;
  private readonly ended: Counter<'type' | 'status'>;
  private readonly sseStreams: Gauge;

  constructor(registry: Registry) {
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
    this.sseStreams = new Gauge({
      name: 'aegir_sse_streams_open',
      help: 'Server-sent event streams (live logs, operation changes) open on this api process',
      registers,
    });
    this.sseStreams.set(0);
  }

  operationCreated(type: string): void {
    this.created.inc({ type });
  }

  operationEnded(type: string, status: string): void {
    this.ended.inc({ type, status });
  }

  /**
   * For the SSE endpoints: call when a stream opens, and the function it returns when that
   * stream closes (calling it twice counts once).
   */
  streamOpened(): () => void {
    this.sseStreams.inc();
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.sseStreams.dec();
    };
  }
}
