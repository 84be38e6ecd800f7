import { describe, expect, it } from "vitest";
import { Sweeper } from "@flash/core/domain/sweeper";
import type { OverdueHold } from "@flash/core/domain/ports";
import { down, fakes, record } from "./fakes";

const hold = (kind: OverdueHold["kind"]): OverdueHold => ({ request_id: "r-1", user_id: "u-1", amount: 1, admitted_ms: 0, kind });
const options = { ttlSeconds: 900, retentionSeconds: 345_600, staleMs: 15_000, batchSize: 10 };
const once = (holds: OverdueHold[]) => {
  let served = false;
  return async () => (served ? [] : ((served = true), holds));
};

describe("Sweeper.sweep", () => {
  it("records an expired hold FAILED_EXPIRED first, then releases it as the record says", async () => {
    const f = fakes({ items: ["sku-1"], overdue: once([hold("expired")]) });
    expect(await Sweeper.sweep(f, options)).toEqual([{ request_id: "r-1", item_id: "sku-1", user_id: "u-1", amount: 1, outcome: "FAILED_EXPIRED" }]);
    const order = f.calls.map((c) => c.method).filter((m) => m !== "inventory.items" && m !== "inventory.overdue");
    expect(order).toEqual(["orders.get", "orders.finalize", "inventory.settle"]);
    expect(f.called("inventory.settle")[0]!.args.slice(1)).toEqual(["FAILED_EXPIRED", "record"]);
  });

  it("settles a hold whose order is already final as that outcome, never releasing a completed order's units", async () => {
    const f = fakes({ items: ["sku-1"], overdue: once([hold("expired")]), get: async () => record("COMPLETED") });
    expect((await Sweeper.sweep(f, options))[0]!.outcome).toBe("COMPLETED");
    expect(f.called("orders.finalize")).toHaveLength(0);
    expect(f.called("inventory.settle")[0]!.args.slice(1)).toEqual(["COMPLETED", "record"]);
  });

  it("releases a stale, never-queued hold without inventing an order", async () => {
    const f = fakes({ items: ["sku-1"], overdue: once([hold("stale")]) });
    expect((await Sweeper.sweep(f, options))[0]!.outcome).toBe("RELEASED");
    expect(f.called("orders.finalize")).toHaveLength(0);
    expect(f.called("inventory.abandon")).toHaveLength(1);
  });

  it("hands a stale hold whose request is registered to the queue's side instead of releasing it: its message may be queued", async () => {
    const f = fakes({ items: ["sku-1"], overdue: once([hold("stale")]), find: async () => ({ request_id: "r-1", item_id: "sku-1", user_id: "u-1", amount: 1 }) });
    expect((await Sweeper.sweep(f, options))[0]!.outcome).toBe("QUEUED");
    expect(f.called("inventory.abandon")).toHaveLength(0);
    expect(f.called("inventory.markQueued")).toHaveLength(1);
    // Registered for another item (its buy answered 422, and its withdrawal failed): nothing was sent, so it is released.
    const other = fakes({ items: ["sku-1"], overdue: once([hold("stale")]), find: async () => ({ request_id: "r-1", item_id: "sku-2", user_id: "u-1", amount: 1 }) });
    expect((await Sweeper.sweep(other, options))[0]!.outcome).toBe("RELEASED");
  });

  it("leaves a hold that is merely waiting in a backlog alone, and settles one whose order completed meanwhile", async () => {
    const open = fakes({ items: ["sku-1"], overdue: once([hold("check")]) });
    expect(await Sweeper.sweep(open, options)).toEqual([]);
    expect(open.called("orders.finalize")).toHaveLength(0);
    expect(open.called("inventory.settle")).toHaveLength(0);
    const settled = fakes({ items: ["sku-1"], overdue: once([hold("check")]), get: async () => record("COMPLETED") });
    expect((await Sweeper.sweep(settled, options))[0]!.outcome).toBe("COMPLETED");
  });

  it("leaves the hold in place when DynamoDB is down, so the next sweep finishes the job", async () => {
    const f = fakes({ items: ["sku-1"], overdue: once([hold("expired")]), get: down("orders_table") });
    await expect(Sweeper.sweep(f, options)).rejects.toMatchObject({ dependency: "orders_table" });
    expect(f.called("inventory.settle")).toHaveLength(0);
  });

  it("stops on a batch where nothing moved (a hold its buy call took back meanwhile)", async () => {
    const f = fakes({ items: ["sku-1"], overdue: async () => Array.from({ length: 10 }, () => hold("stale")), abandon: async () => false });
    expect(await Sweeper.sweep(f, options)).toEqual([]);
    expect(f.called("inventory.overdue")).toHaveLength(1);
  });
});
