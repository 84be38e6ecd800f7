/**
 * A circuit breaker, one per execution environment, around a dependency the buy path cannot do without (the queue).
 * Closed: calls go through, and `failureThreshold` failures in a row open it. Open: calls are refused at once, for
 * a wait that doubles on each reopening (base … max). Then half-open: calls go through again; the first failure
 * reopens it, `successThreshold` successes in a row close it.
 * No timers: every transition happens when a call asks, so nothing is left running between Lambda invocations.
 */
export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerSettings {
  failureThreshold: number;
  successThreshold: number;
  baseTimeoutMs: number;
  maxTimeoutMs: number;
}

export class CircuitBreaker {
  private current: BreakerState = "closed";
  private failures = 0;
  private successes = 0;
  private openings = 0;
  private reopenAt = 0;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly onChange: (state: BreakerState) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    if (this.current === "open" && this.now() >= this.reopenAt) this.become("half_open");
    return this.current;
  }

  /** Zero while calls may go through; otherwise how long until the breaker lets one try again. */
  refusalMs(): number {
    return this.state === "open" ? Math.max(1, this.reopenAt - this.now()) : 0;
  }

  success(): void {
    if (this.state === "half_open" && ++this.successes >= this.settings.successThreshold) {
      this.openings = 0;
      this.become("closed");
    }
    this.failures = 0;
  }

  failure(): void {
    const state = this.state;
    if (state === "half_open" || (state === "closed" && ++this.failures >= this.settings.failureThreshold)) this.open();
  }

  private open(): void {
    const wait = Math.min(this.settings.baseTimeoutMs * 2 ** this.openings, this.settings.maxTimeoutMs);
    this.openings++;
    this.reopenAt = this.now() + wait;
    this.become("open");
  }

  private become(state: BreakerState): void {
    this.current = state;
    this.failures = 0;
    this.successes = 0;
    this.onChange(state);
  }
}
