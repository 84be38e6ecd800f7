import type { Order } from "../../domain/order";
import type { SaleStats } from "../../domain/ports";
import { call, run, type RedisClient } from "./scripts";
import { itemKeys, keyList } from "./keys";

export class RedisSaleStats implements SaleStats {
  constructor(private readonly redis: RedisClient) {}

  async rejected(itemId: string, reason: Order.RejectionReason): Promise<void> {
    await run(this.redis, "count_rejection", keyList(itemId), [reason]);
  }

  async rejections(itemId: string): Promise<Record<string, number>> {
    const counts = await call(() => this.redis.hgetall(itemKeys(itemId).rejections));
    return Object.fromEntries(Object.entries(counts).map(([reason, n]) => [reason, Number(n)]));
  }
}
