/**
 * The nonces of signed messages seen, each kept until its message expires (a replay after
 * that is refused as expired anyway), and at most `limit` of them: when full, the oldest is
 * forgotten. That bound is only the first line: a replayed dispatch still needs the relay's
 * claim, which no longer grants an operation that was claimed or has ended.
 */
export class NonceMemory {
  /** Insertion order; within one queue's messages that is also roughly expiry order. */
  private readonly expiries = new Map<string, number>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.expiries.size;
  }

  has(nonce: string, now: number = Date.now()): boolean {
    this.forgetExpired(now);
    return this.expiries.has(nonce);
  }

  remember(nonce: string, expiresAt: number, now: number = Date.now()): void {
    this.forgetExpired(now);
    this.expiries.delete(nonce);
    this.expiries.set(nonce, expiresAt);
    while (this.expiries.size > this.limit) {
      this.expiries.delete(this.expiries.keys().next().value as string);
    }
  }

  private forgetExpired(now: number): void {
    for (const [nonce, expiresAt] of this.expiries) {
      if (expiresAt > now) return;
      this.expiries.delete(nonce);
    }
  }
}
