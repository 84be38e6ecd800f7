import type { Inventory, OrderStore } from "./ports";
import type { Order } from "./order";
import { count, Metric } from "./telemetry";

/**
 * Reservation expiry: an order admitted but never settled (its message dead-lettered, or lost) must not hold
 * stock forever. Each run releases, item by item, the holds older than the TTL (settle.lua as FAILED_EXPIRED, which also writes
 * the ledger, so a late or redriven message cannot take stock) and records those orders as FAILED_EXPIRED.
 */
export namespace Sweeper {
  export interface Deps {
    inventory: Inventory;
    orders: OrderStore;
  }

  export interface Options {
    ttlSeconds: number;
    batchSize: number;
  }

  export interface Expired {
    request_id: string;
    item_id: string;
    user_id: string;
    amount: number;
    status: "written" | "already_final";
  }

  export const CORRELATION_ID = "sweeper";

  export async function sweep(deps: Deps, options: Options): Promise<Expired[]> {
    const expired: Expired[] = [];
    for (const itemId of await deps.inventory.items()) {
      for (;;) {
        const released = await deps.inventory.expire(itemId, options.ttlSeconds * 1000, options.batchSize);
        for (const hold of released) {
          // The hold carries everything finalize needs; its admission time stands in for accepted_at.
          const message: Order.Message = {
            request_id: hold.request_id,
            item_id: itemId,
            user_id: hold.user_id,
            amount: hold.amount,
            accepted_at: new Date(hold.admitted_ms).toISOString(),
          };
          const status = await deps.orders.finalize(message, "FAILED_EXPIRED", CORRELATION_ID);
          expired.push({ request_id: hold.request_id, item_id: itemId, user_id: hold.user_id, amount: hold.amount, status });
        }
        count(Metric.OrdersExpired, released.length);
        if (released.length < options.batchSize) break;
      }
    }
    return expired;
  }
}
