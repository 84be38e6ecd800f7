import type { Order } from "./order";

/**
 * The narrow interfaces the domain needs. Adapters in ./adapters implement them on Redis, SQS,
 * DynamoDB and a simulated payment service; any of them can be swapped without touching Buy or Fulfilment.
 */

export type Admission =
  | { kind: "admitted"; stockLeft: number }
  | { kind: "held" }
  | { kind: "settled"; outcome: Order.FinalStatus }
  | { kind: "unknown_item" }
  | { kind: "sold_out"; stockLeft: number }
  | { kind: "limit"; held: number; limit: number };

export type Settlement = { kind: "settled"; outcome: Order.FinalStatus } | { kind: "no_hold" };

/** CANCELLED undoes an admission that never reached the queue; it leaves no trace. */
export type SettleOutcome = Order.FinalStatus | "CANCELLED";

export interface ItemLevels {
  item_id: string;
  stock: number;
  in_flight: number;
  sold: number;
  per_user_limit: number;
}

export interface Inventory {
  /** Move the request's units from stock to in-flight, unless it is already known or cannot be served. */
  admit(order: Order.Request): Promise<Admission>;
  /** End a request: completed units become sold, failed ones go back to stock. The first outcome wins. */
  settle(itemId: string, requestId: string, outcome: SettleOutcome): Promise<Settlement>;
  setStock(itemId: string, stock: number, perUserLimit: number): Promise<ItemLevels>;
  levels(itemId: string): Promise<ItemLevels | undefined>;
}

export type Claim = { kind: "claimed"; acceptedAt: string } | { kind: "duplicate"; acceptedAt: string } | { kind: "reused" };

/** Remembers each request_id with its payload, so retries are recognised and reuse is refused. */
export interface Claims {
  claim(order: Order.Request, acceptedAt: string): Promise<Claim>;
  markQueued(requestId: string): Promise<void>;
  release(requestId: string): Promise<void>;
  /** The accepted-but-unsettled view of an order, before the processor has recorded it. */
  pending(requestId: string): Promise<Order.Record | undefined>;
}

export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterMs: number };

export interface RateLimiter {
  hit(userId: string): Promise<RateDecision>;
}

export interface OrderQueue {
  enqueue(message: Order.Message, correlationId: string): Promise<void>;
  /** Straight to the DLQ, for a message that can never be processed. */
  deadLetter(body: string, reason: string, correlationId?: string): Promise<void>;
}

export interface OrderStore {
  get(requestId: string): Promise<Order.Record | undefined>;
  /** Record a final status, unless the order already has one: status never goes backwards. */
  finalize(message: Order.Message, status: Order.FinalStatus, correlationId: string): Promise<"written" | "already_final">;
}

export interface Payments {
  charge(order: Order.Message): Promise<"approved" | "declined">;
}

/** Liveness of one dependency, checked for real. */
export interface Probe {
  check(): Promise<void>;
}
