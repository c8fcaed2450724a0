/**
 * For the container health checks (apps/<app>/src/health.ts): the app's own
 * `/health/ready`, asked on this host. Resolves on 200; otherwise throws naming what the
 * app says is down (`database: connect ECONNREFUSED …`) or why it did not answer.
 */
export async function askReady(host: string, port: number, timeoutMs = 3000): Promise<void> {
  if (port === 0) throw new Error('the HTTP port is 0 (off): nothing to ask');
  const url = `http://${localAddress(host)}:${port}/health/ready`;
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).catch(
    (error: Error & { cause?: Error }) => {
      throw new Error(`GET ${url}: ${error.cause?.message ?? error.message}`);
    },
  );
  const text = await response.text().catch(() => '');
  if (response.status === 200) return;
  throw new Error(`GET ${url} answered ${response.status}${downChecks(text)}`);
}

/** Where a client on this host reaches a server listening on `host` (any address: loopback). */
function localAddress(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** `: database: why, broker: why` from Terminus' answer, or nothing when it is not one. */
function downChecks(body: string): string {
  try {
    const { error } = JSON.parse(body) as { error?: Record<string, { message?: string }> };
    const down = Object.entries(error ?? {}).map(
      ([name, check]) => `${name}: ${check.message ?? 'down'}`,
    );
    return down.length > 0 ? ` (${down.join(', ')})` : '';
  } catch {
    return '';
  }
}
