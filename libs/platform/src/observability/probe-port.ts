import type { INestApplication } from '@nestjs/common';
import { Logger } from 'nestjs-pino';

/** Where an app's HTTP probes listen: RELAY_HTTP_HOST/PORT, DISPATCHER_HTTP_HOST/PORT. */
export interface ProbePort {
  host: string;
  /** 0: no HTTP listener at all. */
  port: number;
}

/**
 * Opens the HTTP port of a hybrid app (relay, dispatcher) for `/metrics` and `/health/*`,
 * once its queues are consumed. A port in use stops start-up like any bad setting.
 */
export async function openProbePort(
  app: INestApplication,
  { host, port }: ProbePort,
  name: string,
): Promise<void> {
  const logger = app.get(Logger);
  if (port === 0) {
    logger.log(`${name}: HTTP port off (metrics and health not served)`);
    return;
  }
  await app.listen(port, host);
  logger.log(
    `${name} metrics and health on http://${host.includes(':') ? `[${host}]` : host}:${port}`,
  );
}
