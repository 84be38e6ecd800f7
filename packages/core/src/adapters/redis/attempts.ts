import type { DeliveryAttempts } from "../../domain/ports";
import { call, type RedisClient } from "./scripts";
import { itemKeys } from "./keys";

/** A record's failures are forgotten a day after the last one: no delivery is retried for that long. */
const ATTEMPTS_TTL_SECONDS = 86_400;

/**
 * Failures per delivered record, in the item's hash slot (`item:{<item>}:attempts:<record>`): one INCR and EXPIRE in
 * one transaction, and only when a record fails, so a healthy batch costs nothing here.
 */
export class RedisDeliveryAttempts implements DeliveryAttempts {
  constructor(private readonly redis: RedisClient) {}

  async failed(itemId: string, recordId: string): Promise<number> {
    const key = `${itemKeys(itemId).item}:attempts:${recordId}`;
    const replies = await call(() => this.redis.multi().incr(key).expire(key, ATTEMPTS_TTL_SECONDS).exec());
    const [err, count] = replies?.[0] ?? [new Error("no reply"), 0];
    if (err) throw err;
    return Number(count);
  }
}
