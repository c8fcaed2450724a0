import assert from 'node:assert/strict';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 20 ms until it holds; fails the test, naming `what`, after `ms`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = 8_000,
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) assert.fail(`timed out waiting until ${what}`);
    await sleep(20);
  }
}
