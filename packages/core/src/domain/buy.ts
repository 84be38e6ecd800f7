import type { Inventory, OrderQueue, OrderStore, RequestRegistry } from "./ports";
import { Order } from "./order";
import type { CircuitBreaker } from "./breaker";
import type { SoldOutCache } from "./sold-out";
import { CircuitOpenError, DependencyUnavailableError } from "./errors";

/**
 * A buy, at the storefront's door: one Lua call admits it (the buyer's rate limit for the item, a duplicate or a
 * reused request_id, the stock left and the per-user limit), then the request_id is registered across items and
 * the order enqueued. Two Redis calls for an accepted buy, one for any refusal, none for a sold-out item the
 * near-cache remembers.
 *
 * The admission belongs to this call (its `owner` token) until the message is on the queue, and only its owner
 * may withdraw it: a double click or a retry never undoes the admission another call relies on. Every refusal
 * and every 503 leaves nothing behind that blocks a retry of the same request.
 */
export namespace Buy {
  /**
   * Refusals come from the door (admit.lua, which also counts them per item for the sale report), from the request
   * registry (a request_id used for another item), or from the sold-out near-cache (counted in CloudWatch only:
   * counting it per item would cost the Redis call the near-cache saves).
   */
  export type Outcome =
    | { kind: "accepted"; requestId: string; acceptedAt: string }
    | { kind: "duplicate_request"; requestId: string; status: Order.Status; lookupError?: unknown }
    | { kind: "idempotency_key_reused"; by: "door" | "registry" }
    | { kind: "unknown_item" }
    | { kind: "sold_out"; by: "door" | "near_cache" }
    | { kind: "purchase_limit_exceeded"; held: number; limit: number }
    | { kind: "rate_limited"; retryAfterSeconds: number }
    | { kind: "sale_not_started"; startsAt: string; retryAfterSeconds: number }
    | { kind: "sale_ended" };

  export interface Deps {
    inventory: Inventory;
    requests: RequestRegistry;
    queue: OrderQueue;
    orders: OrderStore;
    /** Around the queue: while it is open, a buy is refused before it takes anything. */
    queueBreaker?: CircuitBreaker;
    soldOut?: SoldOutCache;
  }

  export async function place(order: Order.Request, deps: Deps, correlationId: string): Promise<Outcome> {
    const wait = deps.queueBreaker?.refusalMs() ?? 0;
    if (wait > 0) throw new CircuitOpenError("queue", Math.ceil(wait / 1000));
    if (deps.soldOut?.refuses(order.item_id, order.amount)) return { kind: "sold_out", by: "near_cache" };

    const owner = crypto.randomUUID();
    let admission;
    try {
      admission = await deps.inventory.admit(order, owner, deps.soldOut?.takeUncounted(order.item_id));
    } catch (err) {
      // Timed out, yet Redis may still run the script when it answers again. The withdrawal queues behind it on
      // the same connection, so this 503 leaves no hold. Not awaited: Redis is not answering now.
      void deps.inventory.withdraw(order, owner).catch(() => undefined);
      throw err;
    }
    switch (admission.kind) {
      case "rate_limited":
        return { kind: "rate_limited", retryAfterSeconds: Math.ceil(admission.retryAfterMs / 1000) };
      case "unknown_item":
        return { kind: "unknown_item" };
      case "sold_out":
        deps.soldOut?.remember(order.item_id, admission.stockLeft);
        return { kind: "sold_out", by: "door" };
      case "purchase_limit_exceeded":
        return { kind: "purchase_limit_exceeded", held: admission.held, limit: admission.limit };
      case "reused":
        return { kind: "idempotency_key_reused", by: "door" };
      case "settled":
        return duplicate(order.request_id, deps, admission.outcome);
      case "held":
      case "withdrawn":
        return duplicate(order.request_id, deps);
      case "not_started":
        return { kind: "sale_not_started", startsAt: admission.startsAt, retryAfterSeconds: Math.max(1, Math.ceil(admission.retryAfterMs / 1000)) };
      case "ended":
        return { kind: "sale_ended" };
    }

    // Ours: a fresh admission, or a retry that took over one whose first call died before it was on the queue.
    // A takeover must not withdraw once the first call had registered the request: that call may have sent its
    // message, and a withdrawal would drop it. Sending a second message is safe: both settle as one order.
    let mayWithdraw = admission.kind === "admitted";
    const message: Order.Message = { ...order, accepted_at: admission.admittedAt };
    try {
      const registration = await deps.requests.register(order);
      if (registration === "reused") {
        // Registration comes before the send, so nothing of this admission is on the queue.
        await deps.inventory.withdraw(order, owner);
        return { kind: "idempotency_key_reused", by: "registry" };
      }
      mayWithdraw ||= registration === "registered";
      await enqueue(message, deps, correlationId);
    } catch (err) {
      if (!mayWithdraw) throw err; // the hold stays; the sweeper hands it to the queue's side (see Sweeper)
      const undone = await deps.inventory.withdraw(order, owner).catch(() => undefined);
      // The send failed by its own account, but the processor already has the message: it was delivered after all.
      if (undone?.kind !== "queued") throw err;
    }
    // The hold leaves the owner's hands when the processor reserves it (or the sweeper finds it registered).
    return { kind: "accepted", requestId: order.request_id, acceptedAt: admission.admittedAt };
  }

  async function enqueue(message: Order.Message, deps: Deps, correlationId: string): Promise<void> {
    try {
      await deps.queue.enqueue(message, correlationId);
      deps.queueBreaker?.success();
    } catch (err) {
      if (err instanceof DependencyUnavailableError) deps.queueBreaker?.failure();
      throw err;
    }
  }

  async function duplicate(requestId: string, deps: Deps, known?: Order.FinalStatus): Promise<Outcome> {
    // The order record is the truth; Redis's ledger stands in while the record cannot be read.
    try {
      const stored = await deps.orders.get(requestId);
      return { kind: "duplicate_request", requestId, status: stored?.status ?? known ?? "PENDING" };
    } catch (lookupError) {
      return { kind: "duplicate_request", requestId, status: known ?? "PENDING", lookupError };
    }
  }
}
