import * as z from "zod";
import "./messages";
import { Order } from "./order";
import type { InventoryAudit, ItemLevels, ItemState, OrderHistory, RepairPlan } from "./ports";
import { EngineError, ValidationError } from "./errors";

/**
 * Reconcile: compare an item's Redis counters with the orders recorded in DynamoDB, report drift and, on request,
 * repair it (lua/reconcile.lua). The same path rebuilds the counters after a cache loss.
 *
 * What the orders say: sold = units of COMPLETED orders; each user holds their COMPLETED units plus their open holds;
 * every final order has its ledger entry; in flight = units of the open holds (admissions whose order is not final);
 * stock = total - sold - in flight. `total` (units on sale) cannot be derived from orders: set_stock.lua records it,
 * and after a cache loss the operator passes it (`--total`).
 *
 * The table's index is read first, then Redis: an order settled in between shows in the ledger, whose entry carries
 * its user and units. A settlement after the Redis read makes the repair script answer CHANGED; we re-read.
 */
export namespace Reconcile {
  export const Options = z.object({
    repair: z.boolean().default(false).meta({ description: "Fix the drift found (false: only report it)." }),
    /** Units on sale; required when Redis has no record of it (cache loss). */
    total: z.number().int("must be an integer").min(0).optional().meta({ description: "Units on sale; required when Redis has no record of it (after a cache loss)." }),
    /** Per-user limit for a rebuilt item; an existing item keeps its own. */
    per_user_limit: z.number().int("must be an integer").min(1).optional().meta({ description: "Per-user limit for a rebuilt item; an existing item keeps its own." }),
  });
  export type Options = z.input<typeof Options>;

  export interface Deps {
    audit: InventoryAudit;
    history: OrderHistory;
  }

  export interface Expected {
    stock: number;
    in_flight: number;
    sold: number;
    total: number;
  }

  export interface Report {
    item_id: string;
    status: "in_sync" | "drift" | "repaired";
    /** Redis as found; absent when the item's counters are gone. */
    current?: ItemLevels & { total?: number };
    expected: Expected;
    drift: { field: string; current: number | null; expected: number }[];
    users_drift: { user_id: string; current: number; expected: number }[];
    ledger_missing: number;
    ledger_mismatch: number;
    /** Holds whose order is already final in the table. */
    stale_holds: string[];
    orders: number;
    repaired?: ItemLevels;
    /** Units sold beyond `total`: stock was set to 0 and this needs a human. */
    oversold?: number;
  }

  const MAX_ATTEMPTS = 5;

  export async function run(itemId: string, input: Options, deps: Deps): Promise<Report> {
    const options = Options.parse(input);
    for (let attempt = 1; ; attempt++) {
      const orders = await deps.history.byItem(itemId);
      const state = await deps.audit.snapshot(itemId);
      const { report, plan } = compare(itemId, orders, state, options);
      if (!options.repair || report.status === "in_sync") return report;
      const repaired = await deps.audit.repair(itemId, plan);
      if (repaired.kind === "repaired") {
        return { ...report, status: "repaired", repaired: repaired.levels, ...(repaired.oversold ? { oversold: repaired.oversold } : {}) };
      }
      if (attempt >= MAX_ATTEMPTS) throw new EngineError(`item ${itemId} kept changing during reconcile; retry, or pause the sale first`);
    }
  }

  function compare(itemId: string, orders: Order.Record[], state: ItemState, options: z.infer<typeof Options>) {
    const final = new Map<string, { user_id: string; amount: number; status: Order.FinalStatus }>();
    for (const o of orders) if (Order.isFinal(o.status)) final.set(o.request_id, { user_id: o.user_id, amount: o.amount, status: o.status });
    const recorded = new Set(final.keys());

    // Settled in Redis but not (yet) in the table: the processor is between settle and finalize, or the index lags.
    // The ledger entry carries the user and units.
    for (const [rid, entry] of state.ledger) {
      if (final.has(rid) || entry.outcome !== "COMPLETED") continue; // a failure gave its units back already
      if (entry.user_id === undefined) throw new EngineError(`order ${rid} completed in Redis but has no order record; record it before reconciling`);
      final.set(rid, { user_id: entry.user_id, amount: entry.amount!, status: "COMPLETED" });
    }

    // Maps, not objects: user ids are buyers' strings, and "__proto__" is a valid one.
    const completed = new Map<string, number>();
    let sold = 0;
    for (const o of final.values()) {
      if (o.status !== "COMPLETED") continue;
      completed.set(o.user_id, (completed.get(o.user_id) ?? 0) + o.amount);
      sold += o.amount;
    }
    const ledger: RepairPlan["ledger"] = [];
    let ledgerMissing = 0;
    let ledgerMismatch = 0;
    for (const rid of recorded) {
      const o = final.get(rid)!;
      const now = state.ledger.get(rid)?.outcome;
      if (now === o.status) continue;
      ledger.push({ request_id: rid, status: o.status, user_id: o.user_id, amount: o.amount });
      if (now === undefined || now === "CANCELLED") ledgerMissing++;
      else ledgerMismatch++;
    }
    const staleHolds = state.holds.filter((h) => recorded.has(h.request_id)).map((h) => h.request_id);
    const open = state.holds.filter((h) => !recorded.has(h.request_id));
    const inFlight = open.reduce((n, h) => n + h.amount, 0);
    const users = new Map(completed);
    for (const h of open) users.set(h.user_id, (users.get(h.user_id) ?? 0) + h.amount);

    const current = state.levels;
    const total = options.total ?? state.total ?? (current ? current.stock + current.in_flight + current.sold : undefined);
    if (total === undefined) {
      throw new ValidationError([{ field: "total", message: `item ${itemId} has no counters in Redis; pass the units on sale to rebuild them` }]);
    }
    const expected: Expected = { stock: Math.max(0, total - sold - inFlight), in_flight: inFlight, sold, total };

    const drift: Report["drift"] = [];
    for (const field of ["stock", "in_flight", "sold"] as const) {
      const now = current ? current[field] : null;
      if (now !== expected[field]) drift.push({ field, current: now, expected: expected[field] });
    }
    if ((state.total ?? null) !== total) drift.push({ field: "total", current: state.total ?? null, expected: total });
    const usersDrift: Report["users_drift"] = [];
    for (const user of new Set([...state.users.keys(), ...users.keys()])) {
      const now = state.users.get(user) ?? 0;
      const want = users.get(user) ?? 0;
      if (now !== want) usersDrift.push({ user_id: user, current: now, expected: want });
    }

    const inSync = !drift.length && !usersDrift.length && !ledgerMissing && !ledgerMismatch && !staleHolds.length;
    const report: Report = {
      item_id: itemId,
      status: inSync ? "in_sync" : "drift",
      ...(current ? { current: { ...current, ...(state.total !== undefined ? { total: state.total } : {}) } } : {}),
      expected,
      drift,
      users_drift: usersDrift,
      ledger_missing: ledgerMissing,
      ledger_mismatch: ledgerMismatch,
      stale_holds: staleHolds,
      orders: recorded.size,
    };
    const plan: RepairPlan = {
      ledger_len: state.ledger.size,
      total,
      per_user_limit: current?.per_user_limit ?? options.per_user_limit ?? 1,
      completed,
      ledger,
      drop_holds: staleHolds,
    };
    return { report, plan };
  }
}
