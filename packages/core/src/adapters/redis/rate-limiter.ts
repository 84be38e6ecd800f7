import { randomUUID } from "node:crypto";
import type { Order } from "../../domain/order";
import type { RateDecision, RateLimiter } from "../../domain/ports";
import { run, type RedisClient } from "./scripts";
import { rateKey, userRequestKey } from "./keys";

export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly redis: RedisClient, private readonly maxRequests: number, private readonly windowSeconds: number) {}

  async hit(order: Pick<Order.Request, "user_id" | "request_id" | "item_id" | "amount">): Promise<RateDecision> {
    const keys = [rateKey(order.user_id), userRequestKey(order.user_id, order.request_id)];
    const [code, n] = await run(this.redis, "rate_limit", keys, [this.windowSeconds * 1000, this.maxRequests, randomUUID(), `${order.item_id}|${order.amount}`]);
    if (Number(code) === 2) return { allowed: false, reused: true };
    return Number(code) === 1 ? { allowed: true, remaining: Number(n) } : { allowed: false, retryAfterMs: Number(n) };
  }
}
