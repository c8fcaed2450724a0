import { randomUUID } from 'node:crypto';
import { CONTRACT_VERSION, type ClaimMessage, type SignedClaimResultMessage } from '@app/contracts';

export type ClaimOutcome = { granted: true } | { granted: false; reason: string };

/** Sends a claim (resolves on the broker's confirm, throws when it was not taken). */
export type SendClaim = (claim: ClaimMessage) => Promise<void>;

/** What became of an answer: it settled a claim, nobody waits for it, or it answers another claim. */
export type AnswerFate = 'settled' | 'unexpected' | 'another-claim';

/**
 * Asks the relay whether this dispatcher may run an operation, and waits for the answer
 * on the dispatcher's own control queue. A claim that gets no answer in time is sent
 * again (the relay grants the same dispatcher the same operation again); only `stop()`
 * ends the wait without an answer. Each claim has its own id, which the relay's signed
 * answer repeats: only an answer to this very claim settles it.
 */
export class ClaimClient {
  private readonly pending = new Map<
    string,
    { claimId: string; settle: (result: ClaimOutcome) => void }
  >();
  private stopped = false;

  constructor(
    private readonly dispatcherId: string,
    private readonly send: SendClaim,
    private readonly replyTo: () => string | undefined,
    private readonly timeoutMs: number,
  ) {}

  async claim(operationId: string): Promise<ClaimOutcome | 'stopped'> {
    const claimId = randomUUID();
    while (!this.stopped) {
      const replyTo = this.replyTo();
      const answer = new Promise<ClaimOutcome | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), this.timeoutMs);
        this.pending.set(operationId, {
          claimId,
          settle: (result) => {
            clearTimeout(timer);
            resolve(result);
          },
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
          claimId,
        }).catch(() => undefined); // not confirmed: the timeout sends it again
      }
      const result = await answer;
      this.pending.delete(operationId);
      if (result) return result;
    }
    return 'stopped';
  }

  /** An answer from the relay (its signature checked already). */
  answer(message: SignedClaimResultMessage): AnswerFate {
    const pending = this.pending.get(message.operationId);
    if (!pending) return 'unexpected';
    if (message.claimId !== pending.claimId) return 'another-claim';
    pending.settle(
      message.granted
        ? { granted: true }
        : { granted: false, reason: message.reason ?? 'refused by the relay' },
    );
    return 'settled';
  }

  stop(): void {
    this.stopped = true;
    for (const { settle } of this.pending.values()) settle({ granted: false, reason: 'stopped' });
    this.pending.clear();
  }
}
