import { describe, expect, it } from "vitest";
import { CircuitBreaker, type BreakerState } from "@flash/core/domain/breaker";
import { Buy } from "@flash/core/domain/buy";
import { fakes, order } from "./fakes";

const settings = { failureThreshold: 5, successThreshold: 2, baseTimeoutMs: 30_000, maxTimeoutMs: 300_000 };

function breaker() {
  let now = 0;
  const changes: BreakerState[] = [];
  const b = new CircuitBreaker(settings, (s) => changes.push(s), () => now);
  return { b, changes, advance: (ms: number) => (now += ms) };
}

describe("CircuitBreaker", () => {
  it("opens after five failures in a row, refuses for 30 s, half-opens, and closes after two successes", () => {
    const { b, changes, advance } = breaker();
    for (let i = 0; i < 4; i++) b.failure();
    b.success(); // a success in between resets the count
    for (let i = 0; i < 4; i++) b.failure();
    expect(b.state).toBe("closed");
    b.failure();
    expect(b.state).toBe("open");
    expect(b.refusalMs()).toBe(30_000);
    advance(29_999);
    expect(b.refusalMs()).toBe(1);
    advance(1);
    expect(b.state).toBe("half_open");
    expect(b.refusalMs()).toBe(0);
    b.success();
    expect(b.state).toBe("half_open");
    b.success();
    expect(b.state).toBe("closed");
    expect(changes).toEqual(["open", "half_open", "closed"]);
  });

  it("reopens on the first failure when half-open, each time waiting twice as long, up to 300 s", () => {
    const { b, advance } = breaker();
    for (let i = 0; i < 5; i++) b.failure();
    const waits = [];
    for (let round = 0; round < 6; round++) {
      waits.push(b.refusalMs());
      advance(b.refusalMs());
      expect(b.state).toBe("half_open");
      b.failure();
    }
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
    advance(b.refusalMs());
    b.success();
    b.success();
    for (let i = 0; i < 5; i++) b.failure();
    expect(b.refusalMs()).toBe(30_000); // closing resets the backoff
  });
});

describe("Buy.place with the queue's breaker open", () => {
  it("answers unavailable at once, with the wait, and takes nothing: no rate limit, no admission", async () => {
    const { b } = breaker();
    for (let i = 0; i < 5; i++) b.failure();
    const f = fakes();
    await expect(Buy.place(order, { ...f, queueBreaker: b }, "c")).rejects.toMatchObject({ name: "CircuitOpenError", dependency: "queue", retryAfterSeconds: 30 });
    expect(f.calls).toEqual([]);
  });

  it("counts a failed enqueue against the breaker, and a successful one for it", async () => {
    const { b } = breaker();
    const { down } = await import("./fakes");
    for (let i = 0; i < 5; i++) await Buy.place(order, { ...fakes({ enqueue: down("queue") }), queueBreaker: b }, "c").catch(() => undefined);
    expect(b.state).toBe("open");
  });
});
