import { describe, expect, it } from "vitest";
import { Buy } from "@flash/core/domain/buy";
import { SoldOutCache } from "@flash/core/domain/sold-out";
import { down, fakes, order, record } from "./fakes";

// Every outcome of Buy.place, against in-memory ports.
describe("Buy.place", () => {
  it("accepts a fresh admission in two calls to Redis: the door, then the registry; then enqueues", async () => {
    const f = fakes();
    expect(await Buy.place(order, f, "c")).toEqual({ kind: "accepted", requestId: "r-1", acceptedAt: "2026-11-22T00:00:00.000Z" });
    expect(f.calls.map((c) => c.method)).toEqual(["inventory.admit", "requests.register", "queue.enqueue"]);
  });

  it("accepts a retry that takes over an admission whose first call died", async () => {
    const f = fakes({ admit: async () => ({ kind: "taken_over", admittedAt: "2026-11-21T00:00:00.000Z" }) });
    expect(await Buy.place(order, f, "c")).toMatchObject({ kind: "accepted", acceptedAt: "2026-11-21T00:00:00.000Z" });
  });

  it("after a takeover of a registered request, never withdraws: the first call may have sent its message", async () => {
    const f = fakes({ admit: async () => ({ kind: "taken_over", admittedAt: "t" }), register: async () => "already_registered", enqueue: down("queue") });
    await expect(Buy.place(order, f, "c")).rejects.toMatchObject({ dependency: "queue" });
    expect(f.called("inventory.withdraw")).toHaveLength(0);
    // The first call never registered: nothing of it can be on the queue, so the takeover withdraws like any owner.
    const unregistered = fakes({ admit: async () => ({ kind: "taken_over", admittedAt: "t" }), enqueue: down("queue") });
    await expect(Buy.place(order, unregistered, "c")).rejects.toMatchObject({ dependency: "queue" });
    expect(unregistered.called("inventory.withdraw")).toHaveLength(1);
  });

  it.each([
    ["sold_out", { kind: "sold_out", stockLeft: 0 }, { kind: "sold_out", by: "door" }],
    ["purchase_limit_exceeded", { kind: "purchase_limit_exceeded", held: 1, limit: 1 }, { kind: "purchase_limit_exceeded", held: 1, limit: 1 }],
    ["unknown_item", { kind: "unknown_item" }, { kind: "unknown_item" }],
    ["idempotency_key_reused", { kind: "reused" }, { kind: "idempotency_key_reused", by: "door" }],
    ["rate_limited", { kind: "rate_limited", retryAfterMs: 1500 }, { kind: "rate_limited", retryAfterSeconds: 2 }],
  ] as const)("refuses with %s in the door's one call and touches nothing else", async (_kind, admission, outcome) => {
    const f = fakes({ admit: async () => admission });
    expect(await Buy.place(order, f, "c")).toEqual(outcome);
    expect(f.calls.map((c) => c.method)).toEqual(["inventory.admit"]);
  });

  it("remembers a sold-out answer in the near-cache and answers the next one without the door", async () => {
    const soldOut = new SoldOutCache(250, () => 0);
    const f = fakes({ admit: async () => ({ kind: "sold_out", stockLeft: 1 }) });
    await Buy.place({ ...order, amount: 2 }, { ...f, soldOut }, "c");
    expect(await Buy.place({ ...order, amount: 2 }, { ...f, soldOut }, "c")).toEqual({ kind: "sold_out", by: "near_cache" });
    expect(f.called("inventory.admit")).toHaveLength(1);
    await Buy.place(order, { ...f, soldOut }, "c"); // one unit is left: that goes to the door
    expect(f.called("inventory.admit")).toHaveLength(2);
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
    expect(await Buy.place(order, f, "c")).toEqual({ kind: "idempotency_key_reused", by: "registry" });
    expect(f.called("inventory.withdraw")).toHaveLength(1);
    expect(f.called("queue.enqueue")).toHaveLength(0);
  });

  it("after an admit that failed (timed out), sends a withdrawal for that attempt and fails", async () => {
    const f = fakes({ admit: down("redis") });
    await expect(Buy.place(order, f, "c")).rejects.toMatchObject({ dependency: "redis" });
    expect(f.called("inventory.withdraw")[0]!.args[1]).toBe(f.called("inventory.admit")[0]!.args[1]);
  });
});
