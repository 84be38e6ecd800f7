/**
 * The near-cache of sold-out answers, per execution environment: after the door says an item is sold out, the same
 * answer is given from memory for `ttlMs`, without a call to Redis. That keeps a sold-out storm off the item's slot.
 * It remembers the stock the door reported, so a request for fewer units than that still goes to the door. Units
 * released later (a declined payment, an expiry) are buyable again here within `ttlMs`. 0 turns it off.
 * Its refusals reach the per-item sale report with this environment's next door call for the item (no call of their
 * own); CloudWatch counts every one at once.
 */
export class SoldOutCache {
  private readonly items = new Map<string, { stockLeft: number; until: number }>();
  /** Refusals answered from memory and not yet counted per item: the next door call for the item counts them. */
  private readonly uncounted = new Map<string, number>();

  constructor(private readonly ttlMs: number, private readonly now: () => number = Date.now) {}

  /** True when the door said, less than ttlMs ago, that fewer than `amount` units are left. */
  refuses(itemId: string, amount: number): boolean {
    const known = this.items.get(itemId);
    if (!known) return false;
    if (known.until <= this.now()) {
      this.items.delete(itemId);
      return false;
    }
    if (amount <= known.stockLeft) return false;
    this.uncounted.set(itemId, (this.uncounted.get(itemId) ?? 0) + 1);
    return true;
  }

  /** The item's refusals answered from memory since the last call, for the door to count in its own call. */
  takeUncounted(itemId: string): number {
    const n = this.uncounted.get(itemId) ?? 0;
    this.uncounted.delete(itemId);
    return n;
  }

  remember(itemId: string, stockLeft: number): void {
    if (this.ttlMs > 0) this.items.set(itemId, { stockLeft, until: this.now() + this.ttlMs });
  }
}
