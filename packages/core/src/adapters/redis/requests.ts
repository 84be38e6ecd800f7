import type { Order } from "../../domain/order";
import type { RequestRegistry } from "../../domain/ports";
import { call, type RedisClient } from "./scripts";
import { requestKey, userRequestKey } from "./keys";

/**
 * req:{request_id} -> "item|user|amount", written once (SET NX) and kept for the idempotency TTL: one request_id,
 * one order. A copy under the user's slot lets the door (rate_limit.lua) refuse the same buyer's reuse for another
 * item in the call it makes anyway, even when that item is sold out.
 */
export class RedisRequestRegistry implements RequestRegistry {
  constructor(private readonly redis: RedisClient, private readonly ttlSeconds: number) {}

  async register(order: Order.Request): Promise<"registered" | "reused"> {
    const value = `${order.item_id}|${order.user_id}|${order.amount}`;
    const [previous] = await call(() =>
      Promise.all([
        this.redis.set(requestKey(order.request_id), value, "EX", this.ttlSeconds, "NX", "GET"),
        this.redis.set(userRequestKey(order.user_id, order.request_id), `${order.item_id}|${order.amount}`, "EX", this.ttlSeconds, "NX"),
      ]),
    );
    return previous === null || previous === value ? "registered" : "reused";
  }

  async find(requestId: string): Promise<Order.Request | undefined> {
    const value = await call(() => this.redis.get(requestKey(requestId)));
    if (!value) return undefined;
    const [item, user, amount] = value.split("|");
    return { request_id: requestId, item_id: item!, user_id: user!, amount: Number(amount) };
  }
}
