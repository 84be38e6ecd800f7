import type { Order } from "../../domain/order";
import type { Admission, Authority, Hold, Inventory, ItemLevels, OrderKey, OverdueHold, SaleWindow, Settlement, Withdrawal } from "../../domain/ports";
import type { Item } from "../../domain/item";
import { ScriptError } from "../../domain/errors";
import { call, run, type RedisClient } from "./scripts";
import { ITEMS_KEY, itemKeys, keyList, parseHold, parseLedgerEntry, rateKey } from "./keys";

const iso = (ms: string) => new Date(Number(ms)).toISOString();
const msOf = (at?: string) => (at ? Date.parse(at) : "");

/** The item hash's fields, as set_stock.lua returns them: stock, in_flight, sold, per_user_limit, starts, ends. */
function toLevels(itemId: string, [s, f, sold, limit, starts, ends]: (string | null)[]): ItemLevels {
  return {
    item_id: itemId,
    stock: Number(s),
    in_flight: Number(f ?? 0),
    sold: Number(sold ?? 0),
    per_user_limit: Number(limit ?? 1),
    ...(starts ? { starts_at: iso(starts) } : {}),
    ...(ends ? { ends_at: iso(ends) } : {}),
  };
}

export interface DoorSettings {
  /** How long an admission may stay unqueued with the buy call that made it before a retry of the same request may
   * take it over (that call has died: it cannot outlive the function timeout). */
  takeoverMs: number;
  /** The sliding window: at most maxRequests per windowSeconds per buyer and item. */
  rateLimit: { maxRequests: number; windowSeconds: number };
}

const DEFAULT_DOOR: DoorSettings = { takeoverMs: 15_000, rateLimit: { maxRequests: 60, windowSeconds: 60 } };

export class RedisInventory implements Inventory {
  constructor(private readonly redis: RedisClient, private readonly door: DoorSettings = DEFAULT_DOOR) {}

  admit(order: Order.Request, owner: string, earlierSoldOut = 0): Promise<Admission> {
    return this.take("buy", order, owner, earlierSoldOut);
  }

  reserve(order: Order.Request): Promise<Admission> {
    return this.take("reserve", order, "", 0);
  }

  private async take(mode: "buy" | "reserve", order: Order.Request, owner: string, earlierSoldOut: number): Promise<Admission> {
    const { takeoverMs, rateLimit } = this.door;
    const keys = [...keyList(order.item_id), rateKey(order.item_id, order.user_id)];
    const [code, a, b] = await run(this.redis, "admit", keys, [
      mode, order.request_id, order.user_id, order.amount, owner, takeoverMs, rateLimit.windowSeconds * 1000, rateLimit.maxRequests,
      earlierSoldOut,
    ]);
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
      case "RATE_LIMITED":
        return { kind: "rate_limited", retryAfterMs: Number(a) };
      case "NOT_STARTED":
        return { kind: "not_started", startsAt: iso(a!), retryAfterMs: Number(a) - Number(b) };
      case "ENDED":
        return { kind: "ended" };
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
    const [code, settled, stock] = await run(this.redis, "settle", keyList(order.item_id), [order.request_id, outcome, order.user_id, order.amount, authority]);
    if (code !== "SETTLED") return { kind: "no_hold" };
    return { kind: "settled", outcome: settled as Order.FinalStatus, ...(stock ? { stockLeft: Number(stock) } : {}) };
  }

  async setStock(itemId: string, stock: number, perUserLimit: number, window: SaleWindow = {}): Promise<ItemLevels> {
    const fields = await run(this.redis, "set_stock", keyList(itemId), [stock, perUserLimit, msOf(window.startsAt), msOf(window.endsAt)]);
    await call(() => this.redis.sadd(ITEMS_KEY, itemId));
    return toLevels(itemId, fields);
  }

  async levels(itemId: string): Promise<ItemLevels | undefined> {
    const fields = await call(() =>
      this.redis.hmget(itemKeys(itemId).item, "stock", "in_flight", "sold", "per_user_limit", "starts_at_ms", "ends_at_ms"),
    );
    return fields[0] === null ? undefined : toLevels(itemId, fields);
  }

  async shelf(itemId: string): Promise<Item.Shelf | undefined> {
    const [stock, starts, ends, now] = await run(this.redis, "shelf", keyList(itemId), []);
    if (stock === undefined) return undefined;
    return { stockLeft: Number(stock), nowMs: Number(now), ...(starts ? { startsAtMs: Number(starts) } : {}), ...(ends ? { endsAtMs: Number(ends) } : {}) };
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

  async settled(itemId: string, requestId: string): Promise<Order.FinalStatus | undefined> {
    const value = await call(() => this.redis.hget(itemKeys(itemId).ledger, requestId));
    const outcome = value ? parseLedgerEntry(value).outcome : undefined;
    return outcome && outcome !== "CANCELLED" ? outcome : undefined;
  }

  async hold(itemId: string, requestId: string): Promise<Hold | undefined> {
    const value = await call(() => this.redis.hget(itemKeys(itemId).holds, requestId));
    return value ? parseHold(requestId, value) : undefined;
  }
}
