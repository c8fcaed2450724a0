import { IntegerVariable } from '@app/platform';

/** The live log and the operations stream (SSE). */
export class ApiStreamSettings {
  /** A comment this often keeps proxies from closing a quiet stream. */
  @IntegerVariable('API_SSE_HEARTBEAT_MS', { min: 100 })
  readonly heartbeatMs: number = 15_000;

  /** The least time between two events of one stream: lines that come meanwhile go together. */
  @IntegerVariable('API_SSE_EVENT_INTERVAL_MS', { min: 1, max: 10_000 })
  readonly eventIntervalMs: number = 50;
}
