import type { Inventory, OrderQueue, OrderStore, RateLimiter, RequestRegistry } from "./ports";
import { Order } from "./order";
import type { CircuitBreaker } from "./breaker";
import { CircuitOpenError, DependencyUnavailableError } from "./errors";

/**
 * A buy, at the storefront's door: rate-limit the user, admit the units against the stock left (one Lua call
 * that also recognises a duplicate or a reused request_id), register the request_id, and enqueue the order.
 *
 * The admission belongs to this call (its `owner` token) until the message is on the queue, and only its owner
 * may withdraw it: a double click or a retry never undoes the admission another call relies on. Every refusal
 * and every 503 leaves nothing behind that blocks a retry of the same request.
 */
export namespace Buy {
  export type Outcome =
    | { kind: "accepted"; requestId: string; acceptedAt: string; markedQueued: boolean }
    | { kind: "duplicate_request"; requestId: string; status: Order.Status; lookupError?: unknown }
    | { kind: "idempotency_key_reused" }
    | { kind: "unknown_item" }
    | { kind: "sold_out" }
    | { kind: "purchase_limit_exceeded" }
    | { kind: "rate_limited"; retryAfterSeconds: number };

  export interface Deps {
    inventory: Inventory;
    requests: RequestRegistry;
    rateLimiter: RateLimiter;
    queue: OrderQueue;
    orders: OrderStore;
    /** Around the queue: while it is open, a buy is refused before it takes anything. */
    queueBreaker?: CircuitBreaker;
  }

  export async function place(order: Order.Request, deps: Deps, correlationId: string): Promise<Outcome> {
    const wait = deps.queueBreaker?.refusalMs() ?? 0;
    if (wait > 0) throw new CircuitOpenError("queue", Math.ceil(wait / 1000));
    const rate = await deps.rateLimiter.hit(order);
    if (!rate.allowed) {
      return "reused" in rate ? { kind: "idempotency_key_reused" } : { kind: "rate_limited", retryAfterSeconds: Math.ceil(rate.retryAfterMs / 1000) };
    }

    const owner = crypto.randomUUID();
    let admission;
    try {
      admission = await deps.inventory.admit(order, owner);
    } catch (err) {
      // Timed out, yet Redis may still run the script when it answers again. The withdrawal queues behind it on
      // the same connection, so this 503 leaves no hold. Not awaited: Redis is not answering now.
      void deps.inventory.withdraw(order, owner).catch(() => undefined);
      throw err;
    }
    switch (admission.kind) {
      case "unknown_item":
        return { kind: "unknown_item" };
      case "sold_out":
        return { kind: "sold_out" };
      case "purchase_limit_exceeded":
        return { kind: "purchase_limit_exceeded" };
      case "reused":
        return { kind: "idempotency_key_reused" };
      case "settled":
        return duplicate(order.request_id, deps, admission.outcome);
      case "held":
      case "withdrawn":
        return duplicate(order.request_id, deps);
    }

    // Ours: a fresh admission, or a retry that took over one whose first call died before enqueueing.
    const message: Order.Message = { ...order, accepted_at: admission.admittedAt };
    try {
      if ((await deps.requests.register(order)) === "reused") {
        await deps.inventory.withdraw(order, owner);
        return { kind: "idempotency_key_reused" };
      }
      await enqueue(message, deps, correlationId);
    } catch (err) {
      const undone = await deps.inventory.withdraw(order, owner).catch(() => undefined);
      // The send failed by its own account, but the processor already has the message: it was delivered after all.
      if (undone?.kind !== "queued") throw err;
    }
    // From here the answer is 202 whatever happens: the order is on its way. An unmarked admission only means a
    // retry could take it over later, and both messages settle as one order.
    const markedQueued = await deps.inventory.markQueued(order.item_id, order.request_id).then(() => true, () => false);
    return { kind: "accepted", requestId: order.request_id, acceptedAt: admission.admittedAt, markedQueued };
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
