import type { Inventory, OrderStore, OverdueHold, RequestRegistry } from "./ports";
import { Order } from "./order";

/**
 * Releasing holds that will not settle by themselves. Two kinds, found by the Redis clock:
 * - stale: admitted, but its buy call died (or answered 503) before the message was on the queue;
 * - expired: its order can no longer be delivered: the message was dead-lettered more than the reservation TTL ago
 *   (the operators' window to redrive it), or the hold is older than the queue's retention. An order waiting in a
 *   backlog (a throttled processor, a slow dependency) is neither, and keeps its units however long it waits.
 * Holds on the queue for longer than the TTL are checked against their order record ("check"): one that settled
 * while the cache did not hear of it (a failover to a lagging copy) is settled as the record says.
 * The order record decides, never Redis alone: a hold whose order is final in DynamoDB is settled as that outcome
 * (a cache restored from a lagging snapshot still holds orders that completed since). An expired hold is recorded
 * FAILED_EXPIRED in DynamoDB first and released after, so a sweep that fails half-way is simply run again.
 * A stale hold with no order record is released without inventing one, unless its request is registered: a buy
 * registers before it sends, so that message may be on the queue, and the hold is handed to the queue's side (it
 * settles when the message arrives, or expires with the queue's retention if the call died before sending).
 */
export namespace Sweeper {
  export interface Deps {
    inventory: Inventory;
    orders: OrderStore;
    requests: RequestRegistry;
  }

  export interface Options {
    /** RESERVATION_TTL_SECONDS: how long a dead-lettered order keeps its units for a redrive. */
    ttlSeconds: number;
    /** QUEUE_RETENTION_SECONDS: a hold older than this has no message left that could deliver it. */
    retentionSeconds: number;
    /** ADMISSION_TAKEOVER_MS: how long a buy call may keep its admission unqueued. */
    staleMs: number;
    batchSize: number;
  }

  export interface Swept {
    request_id: string;
    item_id: string;
    user_id: string;
    amount: number;
    /**
     * What the hold became: an outcome from the order record, FAILED_EXPIRED, released as never accepted, or QUEUED:
     * left to the processor, because its request is registered and its message may be on the queue.
     */
    outcome: Order.FinalStatus | "RELEASED" | "QUEUED";
  }

  export const CORRELATION_ID = "sweeper";

  export async function sweep(deps: Deps, options: Options): Promise<Swept[]> {
    const swept: Swept[] = [];
    for (const itemId of await deps.inventory.items()) {
      for (;;) {
        const overdue = await deps.inventory.overdue(itemId, {
          ttlMs: options.ttlSeconds * 1000,
          staleMs: options.staleMs,
          retentionMs: options.retentionSeconds * 1000,
          limit: options.batchSize,
        });
        let done = 0;
        let handedOver = false;
        for (const hold of overdue) {
          const outcome = await resolve(itemId, hold, deps, options);
          if (!outcome) continue; // it moved on while we looked: the processor or its buy call has it
          done++;
          handedOver ||= outcome === "QUEUED";
          swept.push({ request_id: hold.request_id, item_id: itemId, user_id: hold.user_id, amount: hold.amount, outcome });
        }
        // A short batch is the last, unless it handed holds to the queue's side (they may be expired already); a batch
        // where nothing moved is the last too (no endless loop on a hold that will not go).
        if ((overdue.length < options.batchSize && !handedOver) || done === 0) break;
      }
    }
    return swept;
  }

  async function resolve(itemId: string, hold: OverdueHold, deps: Deps, options: Options): Promise<Swept["outcome"] | undefined> {
    const order = { item_id: itemId, request_id: hold.request_id, user_id: hold.user_id, amount: hold.amount };
    const recorded = await deps.orders.get(hold.request_id);
    let status = recorded && Order.isFinal(recorded.status) ? recorded.status : undefined;
    if (!status) {
      if (hold.kind === "check") return undefined; // still open: a backlog, not an expiry
      if (hold.kind === "stale") return abandon(itemId, hold, deps, options);
      // The hold carries everything the record needs; its admission time is when the order was accepted.
      const message: Order.Message = { ...order, accepted_at: new Date(hold.admitted_ms).toISOString() };
      const written = await deps.orders.finalize(message, "FAILED_EXPIRED", CORRELATION_ID);
      status = written === "written" ? "FAILED_EXPIRED" : ((await deps.orders.get(hold.request_id))?.status as Order.FinalStatus);
    }
    await deps.inventory.settle(order, status, "record");
    return status;
  }

  async function abandon(itemId: string, hold: OverdueHold, deps: Deps, options: Options): Promise<Swept["outcome"] | undefined> {
    const registered = await deps.requests.find(hold.request_id);
    if (registered?.item_id === itemId && registered.user_id === hold.user_id && registered.amount === hold.amount) {
      await deps.inventory.markQueued(itemId, hold.request_id);
      return "QUEUED";
    }
    return (await deps.inventory.abandon(itemId, hold.request_id, options.staleMs)) ? "RELEASED" : undefined;
  }
}
