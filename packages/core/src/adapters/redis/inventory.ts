import type { Order } from "../../domain/order";
import type { Admission, Authority, Hold, Inventory, ItemLevels, OrderKey, OverdueHold, Settlement, Withdrawal } from "../../domain/ports";
import { ScriptError } from "../../domain/errors";
import { call, run, type RedisClient } from "./scripts";
import { ITEMS_KEY, itemKeys, keyList, parseHold } from "./keys";

const iso = (ms: string) => new Date(Number(ms)).toISOString();

export class RedisInventory implements Inventory {
  /**
   * @param takeoverMs how long an admission may stay unqueued with the buy call that made it before a retry of
   * the same request may take it over (that call has died: it cannot outlive the function timeout).
   */
  constructor(private readonly redis: RedisClient, private readonly takeoverMs = 15_000) {}

  admit(order: Order.Request, owner: string): Promise<Admission> {
    return this.take("buy", order, owner);
  }

  reserve(order: Order.Request): Promise<Admission> {
    return this.take("reserve", order, "");
  }

  private async take(mode: "buy" | "reserve", order: Order.Request, owner: string): Promise<Admission> {
    const [code, a, b] = await run(this.redis, "admit", keyList(order.item_id), [mode, order.request_id, order.user_id, order.amount, owner, this.takeoverMs]);
    switch (code) {
      case "ADMITTED":
        return { kind: "admitted", stockLeft: Number(a), admittedAt: iso(b!) };
      case "TAKEN_OVER":
        return { kind: "taken_over", admittedAt: iso(a!) };
      case "HELD":
        return { kind: "held", admittedAt: iso(a!) };
      case "SETTLED":
        return { kind: "settled", outcome: a as Order.FinalStatus };
      case "WITHDRAWN":
        return { kind: "withdrawn" };
      case "REUSED":
        return { kind: "reused" };
      case "UNKNOWN_ITEM":
        return { kind: "unknown_item" };
      case "SOLD_OUT":
        return { kind: "sold_out", stockLeft: Number(a) };
      case "PURCHASE_LIMIT_EXCEEDED":
        return { kind: "purchase_limit_exceeded", held: Number(a), limit: Number(b) };
    }
    throw new ScriptError(`admit.lua returned ${code}`);
  }

  async markQueued(itemId: string, requestId: string): Promise<void> {
    await call(() => this.redis.zrem(itemKeys(itemId).admitting, requestId));
  }

  async withdraw(order: OrderKey, owner: string): Promise<Withdrawal> {
    const [code] = await run(this.redis, "withdraw", keyList(order.item_id), [order.request_id, owner, 0]);
    if (code === "WITHDRAWN") return { kind: "withdrawn" };
    return { kind: code === "QUEUED" ? "queued" : "nothing" };
  }

  async settle(order: OrderKey, outcome: Order.FinalStatus, authority: Authority): Promise<Settlement> {
    const [code, settled] = await run(this.redis, "settle", keyList(order.item_id), [order.request_id, outcome, order.user_id, order.amount, authority]);
    return code === "SETTLED" ? { kind: "settled", outcome: settled as Order.FinalStatus } : { kind: "no_hold" };
  }

  async setStock(itemId: string, stock: number, perUserLimit: number): Promise<ItemLevels> {
    const [s, f, sold, limit] = await run(this.redis, "set_stock", keyList(itemId), [stock, perUserLimit]);
    await call(() => this.redis.sadd(ITEMS_KEY, itemId));
    return { item_id: itemId, stock: Number(s), in_flight: Number(f), sold: Number(sold), per_user_limit: Number(limit) };
  }

  async levels(itemId: string): Promise<ItemLevels | undefined> {
    const [s, f, sold, limit] = await call(() => this.redis.hmget(itemKeys(itemId).item, "stock", "in_flight", "sold", "per_user_limit"));
    if (s === null) return undefined;
    return { item_id: itemId, stock: Number(s), in_flight: Number(f ?? 0), sold: Number(sold ?? 0), per_user_limit: Number(limit ?? 1) };
  }

  async items(): Promise<string[]> {
    return (await call(() => this.redis.smembers(ITEMS_KEY))).sort();
  }

  async markDeadLettered(itemId: string, requestId: string): Promise<void> {
    await run(this.redis, "dead_letter", keyList(itemId), [requestId]);
  }

  async overdue(itemId: string, options: { ttlMs: number; staleMs: number; retentionMs: number; limit: number }): Promise<OverdueHold[]> {
    const flat = await run(this.redis, "overdue", keyList(itemId), [options.ttlMs, options.staleMs, options.retentionMs, options.limit]);
    const holds: OverdueHold[] = [];
    for (let i = 0; i < flat.length; i += 3) holds.push({ ...parseHold(flat[i]!, flat[i + 2]!), kind: flat[i + 1] as OverdueHold["kind"] });
    return holds;
  }

  async abandon(itemId: string, requestId: string, staleMs: number): Promise<boolean> {
    const [code] = await run(this.redis, "withdraw", keyList(itemId), [requestId, "", staleMs]);
    return code === "WITHDRAWN";
  }

  async hold(itemId: string, requestId: string): Promise<(Hold & { queued: boolean }) | undefined> {
    const keys = itemKeys(itemId);
    const [value, admitting] = await call(() => Promise.all([this.redis.hget(keys.holds, requestId), this.redis.zscore(keys.admitting, requestId)]));
    return value ? { ...parseHold(requestId, value), queued: admitting === null } : undefined;
  }
}
