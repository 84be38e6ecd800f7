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
  /** `countRejections`: the buy path counts sold-out and over-limit refusals per item, in the same script call. */
  admit(order: Order.Request, options?: { countRejections?: boolean }): Promise<Admission>;
  /** End a request: completed units become sold, failed ones go back to stock. The first outcome wins. */
  settle(itemId: string, requestId: string, outcome: SettleOutcome): Promise<Settlement>;
  setStock(itemId: string, stock: number, perUserLimit: number): Promise<ItemLevels>;
  levels(itemId: string): Promise<ItemLevels | undefined>;
  /** Every item ever loaded with setStock: what the sweeper, reconcile and the report walk. */
  items(): Promise<string[]>;
  /** Release up to `limit` admissions older than `ttlMs` as FAILED_EXPIRED; returns what was released. */
  expire(itemId: string, ttlMs: number, limit: number): Promise<Hold[]>;
}

/** An admission not yet settled: units taken from stock and held for one request. */
export interface Hold {
  request_id: string;
  user_id: string;
  amount: number;
  admitted_ms: number;
}

/** One item's counters and bookkeeping as one consistent read, for reconcile. */
export interface ItemState {
  levels?: ItemLevels;
  /** Units on sale (stock + in_flight + sold) as last set by an operator; absent after a cache loss. */
  total?: number;
  users: Record<string, number>;
  holds: Hold[];
  ledger: Record<string, string>;
}

/** What reconcile writes: counters derived from the recorded orders (see lua/reconcile.lua). */
export interface RepairPlan {
  ledger_len: number;
  total: number;
  per_user_limit: number;
  completed: Record<string, number>;
  ledger: Record<string, string>;
  drop_holds: string[];
}

export type Repair = { kind: "changed" } | { kind: "repaired"; levels: ItemLevels; oversold: number };

/** Operator access to an item's inner bookkeeping; only reconcile uses it. */
export interface InventoryAudit {
  snapshot(itemId: string): Promise<ItemState>;
  repair(itemId: string, plan: RepairPlan): Promise<Repair>;
}

/** Refused buys per item and reason, for the sale report where there is no CloudWatch. */
export interface SaleStats {
  rejected(itemId: string, reason: string): Promise<void>;
  rejections(itemId: string): Promise<Record<string, number>>;
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

/** Recorded orders of one item (the table's by_item index), for reconcile and the sale report. */
export interface OrderHistory {
  byItem(itemId: string): Promise<Order.Record[]>;
}

export interface Payments {
  charge(order: Order.Message): Promise<"approved" | "declined">;
}

/** Liveness of one dependency, checked for real. */
export interface Probe {
  check(): Promise<void>;
}
