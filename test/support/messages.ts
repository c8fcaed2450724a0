import { randomUUID } from 'node:crypto';
import type { OperationPlan } from '@app/catalogue';
import type { OperationStatus, StatusMessage } from '@app/contracts';

/** A moment of the test's made-up timeline, as the wire carries it. */
export const at = (second: number): string =>
  new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();

/** demo.hello's two tasks on a target of its own, so that no other operation holds it. */
export function testPlan(overrides: Partial<OperationPlan> = {}): OperationPlan {
  return {
    type: 'demo.hello',
    pool: 'default',
    target: `host-${randomUUID()}`,
    params: {},
    tasks: [
      { name: 'prepare', runner: 'command' },
      { name: 'hello', runner: 'ansible-playbook' },
    ],
    exclusive: false,
    retry: { attempts: 0, backoffSeconds: 0 },
    ...overrides,
  };
}

/** A status event from dispatcher-1 at `second` of the timeline. */
export function statusMessage(
  operationId: string,
  value: OperationStatus,
  second: number,
  extra: Partial<StatusMessage> = {},
): StatusMessage {
  return {
    v: 1,
    kind: 'status',
    operationId,
    taskId: null,
    status: value,
    at: at(second),
    dispatcherId: 'dispatcher-1',
    ...extra,
  };
}
