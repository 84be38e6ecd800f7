import { createHash } from "node:crypto";
import type { Order } from "../../domain/order";
import type { Payments } from "../../domain/ports";
import { DependencyUnavailableError } from "../../domain/errors";

export interface SimulatedPaymentsOptions {
  /** Share of charges declined, 0..1. The choice is a hash of the request_id, so a redelivery gets the same answer. */
  failureRate: number;
  /** Users whose charges are always declined: a deterministic decline for tests and demos. */
  declineUsers?: ReadonlySet<string>;
  /** Simulates an outage: every charge fails as unreachable and is retried. */
  unavailable?: boolean;
}

/** Stand-in for a payment provider. Like a real one, it is idempotent per request_id. */
export class SimulatedPayments implements Payments {
  /** request_ids refunded, so tests and demos can see the refund path run. */
  readonly refunded = new Set<string>();

  constructor(private readonly options: SimulatedPaymentsOptions) {}

  async charge(order: Order.Message): Promise<"approved" | "declined"> {
    if (this.options.unavailable) throw new DependencyUnavailableError("payment");
    if (this.options.declineUsers?.has(order.user_id)) return "declined";
    if (this.options.failureRate <= 0) return "approved";
    const roll = createHash("sha256").update(order.request_id).digest().readUInt32BE(0) / 0x1_0000_0000;
    return roll < this.options.failureRate ? "declined" : "approved";
  }

  async refund(order: Order.Message): Promise<void> {
    if (this.options.unavailable) throw new DependencyUnavailableError("payment");
    this.refunded.add(order.request_id);
  }
}
