import type { Inventory, OrderStore, Payments } from "./ports";
import { Order } from "./order";
import { InventoryMissingError, EngineError } from "./errors";

/**
 * Settling an accepted order, safe under redelivery: reserve (confirm the admission's hold),
 * charge, settle in the inventory ledger, then record the final status.
 * A crash between any two steps is repaired by the next delivery: each step returns what it did before.
 */
export namespace Fulfilment {
  export interface Deps {
    inventory: Inventory;
    orders: OrderStore;
    payments: Payments;
  }

  export async function process(message: Order.Message, deps: Deps, correlationId: string): Promise<Order.FinalStatus> {
    const recorded = await deps.orders.get(message.request_id);
    // Already final (for example expired, then redriven): it must not take stock again.
    if (recorded && Order.isFinal(recorded.status)) return recorded.status;

    const outcome = await settle(message, deps);
    await deps.orders.finalize(message, outcome, correlationId);
    return outcome;
  }

  async function settle(message: Order.Message, deps: Deps): Promise<Order.FinalStatus> {
    const { item_id, request_id } = message;
    const reservation = await deps.inventory.admit(message);
    switch (reservation.kind) {
      case "settled":
        return reservation.outcome;
      case "unknown_item":
        throw new InventoryMissingError(item_id);
      case "sold_out":
        return settledAs(await deps.inventory.settle(item_id, request_id, "FAILED_SOLD_OUT"));
      case "limit":
        return settledAs(await deps.inventory.settle(item_id, request_id, "FAILED_LIMIT"));
    }
    const payment = await deps.payments.charge(message);
    return settledAs(await deps.inventory.settle(item_id, request_id, payment === "approved" ? "COMPLETED" : "FAILED_PAYMENT"));
  }

  function settledAs(settlement: Awaited<ReturnType<Deps["inventory"]["settle"]>>): Order.FinalStatus {
    // The hold vanished between reserve and settle (an operator or the sweeper released it): retry from the top.
    if (settlement.kind === "no_hold") throw new EngineError("hold released during settlement; will retry");
    return settlement.outcome;
  }
}
