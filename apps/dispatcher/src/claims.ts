import { CONTRACT_VERSION, type ClaimMessage, type ClaimResultMessage } from '@app/contracts';

export type ClaimOutcome = { granted: true } | { granted: false; reason: string };

/** Sends a claim (resolves on the broker's confirm, throws when it was not taken). */
export type SendClaim = (claim: ClaimMessage) => Promise<void>;

/**
 * Asks the relay whether this dispatcher may run an operation, and waits for the answer
 * on the dispatcher's own control queue. A claim that gets no answer in time is sent
 * again (the relay grants the same dispatcher the same operation again); only `stop()`
 * ends the wait without an answer.
 */
export class ClaimClient {
  private readonly pending = new Map<string, (result: ClaimOutcome) => void>();
  private stopped = false;

  constructor(
    private readonly dispatcherId: string,
    private readonly send: SendClaim,
    private readonly replyTo: () => string | undefined,
    private readonly timeoutMs: number,
  ) {}

  async claim(operationId: string): Promise<ClaimOutcome | 'stopped'> {
    while (!this.stopped) {
      const replyTo = this.replyTo();
      const answer = new Promise<ClaimOutcome | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), this.timeoutMs);
        this.pending.set(operationId, (result) => {
          clearTimeout(timer);
          resolve(result);
        });
      });
      if (replyTo) {
        await this.send({
          v: CONTRACT_VERSION,
          kind: 'claim',
          operationId,
          dispatcherId: this.dispatcherId,
          replyTo,
          at: new Date().toISOString(),
        }).catch(() => undefined); // not confirmed: the timeout sends it again
      }
      const result = await answer;
      this.pending.delete(operationId);
      if (result) return result;
    }
    return 'stopped';
  }

  /** An answer from the relay; answers nobody waits for any more are dropped. */
  answer(message: ClaimResultMessage): void {
    this.pending.get(message.operationId)?.(
      message.granted
        ? { granted: true }
        : { granted: false, reason: message.reason ?? 'refused by the relay' },
    );
  }

  stop(): void {
    this.stopped = true;
    for (const resolve of this.pending.values()) resolve({ granted: false, reason: 'stopped' });
    this.pending.clear();
  }
}
