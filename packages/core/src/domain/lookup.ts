import type { Inventory, OrderStore, RequestRegistry } from "./ports";
import type { Order } from "./order";

/**
 * What the buyer sees of an order: the record once settled; before that, PENDING while the request is registered and
 * its units held (a buy registers just before it sends: a 503 withdraws the hold, so such a request is not found),
 * and in the moment between the inventory's settlement and the record's write.
 */
export namespace OrderLookup {
  export interface Deps {
    orders: OrderStore;
    requests: RequestRegistry;
    inventory: Inventory;
  }

  export async function find(requestId: string, deps: Deps): Promise<Order.Record | undefined> {
    const recorded = await deps.orders.get(requestId);
    if (recorded) return recorded;
    const request = await deps.requests.find(requestId);
    if (!request) return undefined;
    const hold = await deps.inventory.hold(request.item_id, requestId);
    if (hold) {
      const at = new Date(hold.admitted_ms).toISOString();
      return { ...request, status: "PENDING", created_at: at, updated_at: at };
    }
    // Settled in the inventory, its record not written yet (the processor writes it next): still PENDING, not gone.
    if (await deps.inventory.settled(request.item_id, requestId)) {
      const now = new Date().toISOString();
      return { ...request, status: "PENDING", created_at: now, updated_at: now };
    }
    return undefined;
  }
}
