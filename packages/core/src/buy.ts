import type { Claims, Inventory, OrderQueue, OrderStore, RateLimiter } from "./ports";
import { Order } from "./order";

/**
 * A buy, at the storefront's door: rate-limit the user, admit the units against the stock left,
 * claim the request_id, and enqueue the order for settlement.
 * Rejections leave nothing behind, so the same request can be retried.
 */
export namespace Buy {
  export type Outcome =
    | { kind: "accepted"; requestId: string; acceptedAt: string }
    | { kind: "duplicate_request"; requestId: string; status: Order.Status }
    | { kind: "idempotency_key_reused" }
    | { kind: "unknown_item" }
    | { kind: "sold_out" }
    | { kind: "purchase_limit_exceeded" }
    | { kind: "rate_limited"; retryAfterSeconds: number };

  export interface Deps {
    inventory: Inventory;
    claims: Claims;
    rateLimiter: RateLimiter;
    queue: OrderQueue;
    orders: OrderStore;
  }

  export async function admit(order: Order.Request, deps: Deps, correlationId: string): Promise<Outcome> {
    const rate = await deps.rateLimiter.hit(order.user_id);
    if (!rate.allowed) return { kind: "rate_limited", retryAfterSeconds: Math.ceil(rate.retryAfterMs / 1000) };

    // The stock gate comes first: a sold-out item costs two Redis calls and nothing else.
    const admission = await deps.inventory.admit(order, { countRejections: true });
    switch (admission.kind) {
      case "unknown_item":
        return { kind: "unknown_item" };
      case "sold_out":
        return { kind: "sold_out" };
      case "limit":
        return { kind: "purchase_limit_exceeded" };
    }

    const cancel = () => deps.inventory.settle(order.item_id, order.request_id, "CANCELLED");
    let claim;
    try {
      claim = await deps.claims.claim(order, new Date().toISOString());
    } catch (err) {
      if (admission.kind === "admitted") await cancel().catch(() => undefined);
      throw err;
    }

    if (claim.kind === "reused") {
      // The request_id belongs to another payload; undo only what this call admitted.
      if (admission.kind === "admitted") await cancel();
      return { kind: "idempotency_key_reused" };
    }
    if (admission.kind === "settled") return duplicate(order.request_id, deps, admission.outcome);
    if (claim.kind === "duplicate") {
      if (admission.kind === "admitted") await cancel();
      return duplicate(order.request_id, deps);
    }

    // Ours to enqueue: a fresh admission, or a retry taking over one whose first call died.
    const message: Order.Message = { ...order, accepted_at: claim.acceptedAt };
    try {
      await deps.queue.enqueue(message, correlationId);
    } catch (err) {
      await cancel().catch(() => undefined);
      await deps.claims.release(order.request_id).catch(() => undefined);
      throw err;
    }
    await deps.claims.markQueued(order.request_id);
    return { kind: "accepted", requestId: order.request_id, acceptedAt: claim.acceptedAt };
  }

  async function duplicate(requestId: string, deps: Deps, known?: Order.FinalStatus): Promise<Outcome> {
    // The stored status is better than the ledger's when the processor has already recorded it.
    const stored = await deps.orders.get(requestId).catch(() => undefined);
    return { kind: "duplicate_request", requestId, status: stored?.status ?? known ?? "PENDING" };
  }
}
