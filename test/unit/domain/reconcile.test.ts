import { describe, expect, it } from "vitest";
import { Reconcile } from "@flash/core/domain/reconcile";
import type { ItemState, RepairPlan } from "@flash/core/domain/ports";
import type { Order } from "@flash/core/domain/order";
import { fakes } from "./fakes";

const completed = (request_id: string, user_id: string, amount = 1): Order.Record => ({
  request_id, user_id, item_id: "sku-1", amount, status: "COMPLETED", created_at: "t", updated_at: "t",
});

const state = (users: [string, number][], levels = { stock: 0, in_flight: 0, sold: 3 }): ItemState => ({
  levels: { item_id: "sku-1", per_user_limit: 5, ...levels },
  total: 3,
  users: new Map(users),
  holds: [],
  ledger: new Map([
    ["r-1", { outcome: "COMPLETED", user_id: "__proto__", amount: 2 }],
    ["r-2", { outcome: "COMPLETED", user_id: "constructor", amount: 1 }],
  ]),
});

describe("Reconcile.run", () => {
  const orders = [completed("r-1", "__proto__", 2), completed("r-2", "constructor")];

  it("finds an item in sync even when buyers are named like Object's own properties", async () => {
    const f = fakes({ byItem: async () => orders, snapshot: async () => state([["__proto__", 2], ["constructor", 1]]) });
    expect(await Reconcile.run("sku-1", {}, f)).toMatchObject({ status: "in_sync", users_drift: [], expected: { sold: 3, stock: 0 } });
  });

  it("plans a repair that counts every buyer's units, so sold is never short", async () => {
    let plan: RepairPlan | undefined;
    const f = fakes({
      byItem: async () => orders,
      snapshot: async () => state([], { stock: 2, in_flight: 0, sold: 3 }),
      repair: async (_item?: unknown, p?: unknown) => ((plan = p as RepairPlan), { kind: "repaired", levels: { item_id: "sku-1", stock: 0, in_flight: 0, sold: 3, per_user_limit: 5 }, oversold: 0 }),
    });
    f.audit.repair = async (_item, p) => ((plan = p), { kind: "repaired", levels: { item_id: "sku-1", stock: 0, in_flight: 0, sold: 3, per_user_limit: 5 }, oversold: 0 });
    const report = await Reconcile.run("sku-1", { repair: true }, f);
    expect(report.status).toBe("repaired");
    expect([...plan!.completed]).toEqual([["__proto__", 2], ["constructor", 1]]);
    expect(report.expected).toMatchObject({ stock: 0, sold: 3 });
  });
});
