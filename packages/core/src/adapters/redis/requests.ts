import type { Order } from "../../domain/order";
import type { Registration, RequestRegistry } from "../../domain/ports";
import { call, type RedisClient } from "./scripts";
import { requestKey } from "./keys";

/**
 * req:{request_id} -> "item|user|amount", written once (SET NX GET) and kept for the idempotency TTL: one
 * request_id, one order, across items. The door's script sees one item only; this record is what refuses the
 * same request_id for another item.
 */
export class RedisRequestRegistry implements RequestRegistry {
  constructor(private readonly redis: RedisClient, private readonly ttlSeconds: number) {}

  async register(order: Order.Request): Promise<Registration> {
    const value = `${order.item_id}|${order.user_id}|${order.amount}`;
    const previous = await call(() => this.redis.set(requestKey(order.request_id), value, "EX", this.ttlSeconds, "NX", "GET"));
    if (previous === null) return "registered";
    return previous === value ? "already_registered" : "reused";
  }

  async find(requestId: string): Promise<Order.Request | undefined> {
    const value = await call(() => this.redis.get(requestKey(requestId)));
    if (!value) return undefined;
    const [item, user, amount] = value.split("|");
    return { request_id: requestId, item_id: item!, user_id: user!, amount: Number(amount) };
  }
}
