import { describe, expect, it } from "vitest";
import { Buy } from "@flash/core/domain/buy";
import { down, fakes, order, record } from "./fakes";

// Every outcome of Buy.place, against in-memory ports.
describe("Buy.place", () => {
  it("accepts a fresh admission: registers, enqueues, marks it queued", async () => {
    const f = fakes();
    expect(await Buy.place(order, f, "c")).toEqual({ kind: "accepted", requestId: "r-1", acceptedAt: "2026-11-22T00:00:00.000Z", markedQueued: true });
    expect(f.calls.map((c) => c.method)).toEqual(["rateLimiter.hit", "inventory.admit", "requests.register", "queue.enqueue", "inventory.markQueued"]);
  });

  it("accepts a retry that takes over an admission whose first call died", async () => {
    const f = fakes({ admit: async () => ({ kind: "taken_over", admittedAt: "2026-11-21T00:00:00.000Z" }) });
    expect(await Buy.place(order, f, "c")).toMatchObject({ kind: "accepted", acceptedAt: "2026-11-21T00:00:00.000Z" });
  });

  it("still answers accepted when the order is on the queue but the bookkeeping after it fails", async () => {
    const f = fakes({ markQueued: down("redis") });
    expect(await Buy.place(order, f, "c")).toMatchObject({ kind: "accepted", markedQueued: false });
  });

  it.each([
    ["sold_out", { kind: "sold_out", stockLeft: 0 }],
    ["purchase_limit_exceeded", { kind: "purchase_limit_exceeded", held: 1, limit: 1 }],
    ["unknown_item", { kind: "unknown_item" }],
    ["idempotency_key_reused", { kind: "reused" }],
  ] as const)("refuses with %s and touches nothing else", async (kind, admission) => {
    const f = fakes({ admit: async () => admission });
    expect(await Buy.place(order, f, "c")).toEqual({ kind });
    expect(f.calls.map((c) => c.method)).toEqual(["rateLimiter.hit", "inventory.admit"]);
  });

  it("rate-limits before anything is admitted, and refuses a buyer's request_id reused for another item at the door", async () => {
    const limited = fakes({ rate: async () => ({ allowed: false, retryAfterMs: 1500 }) });
    expect(await Buy.place(order, limited, "c")).toEqual({ kind: "rate_limited", retryAfterSeconds: 2 });
    const reused = fakes({ rate: async () => ({ allowed: false, reused: true }) });
    expect(await Buy.place(order, reused, "c")).toEqual({ kind: "idempotency_key_reused" });
    for (const f of [limited, reused]) expect(f.called("inventory.admit")).toHaveLength(0);
  });

  it("answers a duplicate with the order record's status, then the ledger's, then PENDING; and never withdraws", async () => {
    const settled = fakes({ admit: async () => ({ kind: "settled", outcome: "FAILED_PAYMENT" }), get: async () => record("COMPLETED") });
    expect(await Buy.place(order, settled, "c")).toEqual({ kind: "duplicate_request", requestId: "r-1", status: "COMPLETED" });
    const ledgerOnly = fakes({ admit: async () => ({ kind: "settled", outcome: "FAILED_PAYMENT" }) });
    expect(await Buy.place(order, ledgerOnly, "c")).toMatchObject({ status: "FAILED_PAYMENT" });
    const held = fakes({ admit: async () => ({ kind: "held", admittedAt: "t" }) });
    expect(await Buy.place(order, held, "c")).toMatchObject({ kind: "duplicate_request", status: "PENDING" });
    const unreadable = fakes({ admit: async () => ({ kind: "held", admittedAt: "t" }), get: down("orders_table") });
    expect(await Buy.place(order, unreadable, "c")).toMatchObject({ status: "PENDING", lookupError: expect.any(Error) });
    for (const f of [settled, ledgerOnly, held, unreadable]) expect(f.called("inventory.withdraw")).toHaveLength(0);
  });

  it("withdraws its own admission with its own owner token when the enqueue fails, then fails", async () => {
    const f = fakes({ enqueue: down("queue") });
    await expect(Buy.place(order, f, "c")).rejects.toMatchObject({ dependency: "queue" });
    const [admitted] = f.called("inventory.admit");
    const [withdrawn] = f.called("inventory.withdraw");
    expect(withdrawn!.args[1]).toBe(admitted!.args[1]); // the same attempt, nobody else's hold
  });

  it("answers accepted when the enqueue failed by its own account but the processor already has the message", async () => {
    const f = fakes({ enqueue: down("queue"), withdraw: async () => ({ kind: "queued" }) });
    expect(await Buy.place(order, f, "c")).toMatchObject({ kind: "accepted" });
  });

  it("withdraws and answers reused when the request_id is registered for another item", async () => {
    const f = fakes({ register: async () => "reused" });
    expect(await Buy.place(order, f, "c")).toEqual({ kind: "idempotency_key_reused" });
    expect(f.called("inventory.withdraw")).toHaveLength(1);
    expect(f.called("queue.enqueue")).toHaveLength(0);
  });

  it("after an admit that failed (timed out), sends a withdrawal for that attempt and fails", async () => {
    const f = fakes({ admit: down("redis") });
    await expect(Buy.place(order, f, "c")).rejects.toMatchObject({ dependency: "redis" });
    expect(f.called("inventory.withdraw")[0]!.args[1]).toBe(f.called("inventory.admit")[0]!.args[1]);
  });
});
