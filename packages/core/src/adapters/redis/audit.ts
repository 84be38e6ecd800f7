import type { InventoryAudit, ItemLevels, ItemState, Repair, RepairPlan } from "../../domain/ports";
import { call, failure, run, type RedisClient } from "./scripts";
import { ITEMS_KEY, itemKeys, keyList, parseHold, parseLedgerEntry } from "./keys";

export class RedisInventoryAudit implements InventoryAudit {
  constructor(private readonly redis: RedisClient) {}

  async snapshot(itemId: string): Promise<ItemState> {
    const keys = itemKeys(itemId);
    // One MULTI (all keys share the item's slot): counters, holds and ledger are read at one instant.
    const replies = await call(() => this.redis.multi().hgetall(keys.item).hgetall(keys.users).hgetall(keys.holds).hgetall(keys.ledger).exec());
    const [h, u, held, l] = (replies ?? []).map(([err, value]) => {
      if (err) throw failure(err);
      return value as Record<string, string>;
    });
    const levels: ItemLevels | undefined =
      h!.stock === undefined
        ? undefined
        : { item_id: itemId, stock: Number(h!.stock), in_flight: Number(h!.in_flight ?? 0), sold: Number(h!.sold ?? 0), per_user_limit: Number(h!.per_user_limit ?? 1) };
    return {
      levels,
      ...(h!.total !== undefined ? { total: Number(h!.total) } : {}),
      users: new Map(Object.entries(u!).map(([user, units]) => [user, Number(units)])),
      holds: Object.entries(held!).map(([rid, hold]) => parseHold(rid, hold)),
      ledger: new Map(Object.entries(l!).map(([rid, entry]) => [rid, parseLedgerEntry(entry)])),
    };
  }

  async repair(itemId: string, plan: RepairPlan): Promise<Repair> {
    const json = JSON.stringify({
      ledger_len: plan.ledger_len,
      total: plan.total,
      per_user_limit: plan.per_user_limit,
      completed: [...plan.completed],
      ledger: plan.ledger.map((e) => [e.request_id, e.status, e.user_id, e.amount]),
      drop_holds: plan.drop_holds,
    });
    const [code, s, f, sold, limit, oversold] = await run(this.redis, "reconcile", keyList(itemId), [json]);
    if (code === "CHANGED") return { kind: "changed" };
    await call(() => this.redis.sadd(ITEMS_KEY, itemId));
    return {
      kind: "repaired",
      levels: { item_id: itemId, stock: Number(s), in_flight: Number(f), sold: Number(sold), per_user_limit: Number(limit) },
      oversold: Number(oversold),
    };
  }
}
