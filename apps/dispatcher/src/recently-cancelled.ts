/** The last operations cancelled, so a dispatch message that arrives after its cancel is dropped. */
export class RecentlyCancelled {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 10_000) {}

  add(operationId: string): void {
    this.ids.delete(operationId);
    this.ids.add(operationId);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }

  has(operationId: string): boolean {
    return this.ids.has(operationId);
  }
}
