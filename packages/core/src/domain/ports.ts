import type { Order } from "./order";
import type { Item } from "./item";

/**
 * The narrow interfaces the domain needs. Adapters in ./adapters implement them on Redis, SQS,
 * DynamoDB and a simulated payment service; any of them can be swapped without touching Buy or Fulfilment.
 */

/** What taking units for a request came to. At the door the admission belongs to the buy attempt (`owner`) that made it. */
export type Admission =
  | { kind: "admitted"; stockLeft: number; admittedAt: string }
  /** A retry took over an admission whose first call died before it could enqueue. */
  | { kind: "taken_over"; admittedAt: string }
  /** Units are already held for this request: at the door a duplicate, at the processor the buy's own hold. */
  | { kind: "held"; admittedAt: string }
  | { kind: "settled"; outcome: Order.FinalStatus }
  /** Processor only: the buy call withdrew this admission and answered 503; its message must not take stock. */
  | { kind: "withdrawn" }
  /** The request_id is held or settled with another user_id or amount. */
  | { kind: "reused" }
  | { kind: "unknown_item" }
  | { kind: "sold_out"; stockLeft: number }
  | { kind: "purchase_limit_exceeded"; held: number; limit: number }
  /** At the door: over the buyer's sliding-window limit for this item. */
  | { kind: "rate_limited"; retryAfterMs: number }
  /** At the door: the item's sale window opens at startsAt, retryAfterMs from now by the inventory's clock. */
  | { kind: "not_started"; startsAt: string; retryAfterMs: number }
  /** At the door: the item's sale window has closed. */
  | { kind: "ended" };

/** stockLeft: the item's stock after the settlement, when the inventory knows it (the InventoryRemaining metric). */
export type Settlement = { kind: "settled"; outcome: Order.FinalStatus; stockLeft?: number } | { kind: "no_hold" };

/**
 * Whose word a settlement is. "first": the processor's own result, and the first outcome recorded wins.
 * "record": the order record's final status, which is the truth: Redis is corrected to match it.
 */
export type Authority = "first" | "record";

export type Withdrawal =
  | { kind: "withdrawn" }
  /** The message reached the processor after all: the order goes ahead. */
  | { kind: "queued" }
  /** Nothing to undo: never admitted, or another attempt owns it now. */
  | { kind: "nothing" };

export interface ItemLevels {
  item_id: string;
  stock: number;
  in_flight: number;
  sold: number;
  per_user_limit: number;
  /** The sale window, ISO 8601, when one is set. */
  starts_at?: string;
  ends_at?: string;
}

/** An item's sale window; either end may be open. */
export interface SaleWindow {
  startsAt?: string;
  endsAt?: string;
}

/** Units taken from stock and held for one request until it settles. */
export interface Hold {
  request_id: string;
  user_id: string;
  amount: number;
  admitted_ms: number;
}

/**
 * A hold the sweeper must look at: left unqueued by a buy call that died ("stale"), or one whose order can no longer
 * be delivered ("expired": dead-lettered longer than the reservation TTL ago, or older than the queue's retention),
 * or one on the queue for longer than the TTL, whose order record may have settled it ("check").
 */
export interface OverdueHold extends Hold {
  kind: "stale" | "expired" | "check";
}

/** How one request ended, as the inventory's ledger remembers it. */
export interface LedgerEntry {
  outcome: Order.FinalStatus | "CANCELLED";
  user_id?: string;
  amount?: number;
}

export type OrderKey = Pick<Order.Request, "item_id" | "request_id" | "user_id" | "amount">;

export interface Inventory {
  /**
   * The door, in one call: the buyer's rate limit for this item, then take the units for this buy attempt, or say
   * why not. Every refusal is counted per item in the same call (SaleStats.rejections), together with
   * `earlierSoldOut` refusals the sold-out near-cache answered since this environment last asked.
   */
  admit(order: Order.Request, owner: string, earlierSoldOut?: number): Promise<Admission>;
  /** At the processor: confirm the buy's hold (its message is here, so it was enqueued), or take the units again if Redis lost it. */
  reserve(order: Order.Request): Promise<Admission>;
  /** The admission's message may be on the queue (its request is registered): it no longer belongs to its buy attempt. */
  markQueued(itemId: string, requestId: string): Promise<void>;
  /** The buy attempt that owns the admission could not enqueue it: give the units back. */
  withdraw(order: OrderKey, owner: string): Promise<Withdrawal>;
  /** End a request: completed units become sold, failed ones go back on sale. */
  settle(order: OrderKey, outcome: Order.FinalStatus, authority: Authority): Promise<Settlement>;
  /** Load an item: its stock, per-user limit and sale window (no window: on sale at once, for as long as stock lasts). */
  setStock(itemId: string, stock: number, perUserLimit: number, window?: SaleWindow): Promise<ItemLevels>;
  levels(itemId: string): Promise<ItemLevels | undefined>;
  /** What a storefront may see of an item (stock left, window, the inventory's clock), in one call. */
  shelf(itemId: string): Promise<Item.Shelf | undefined>;
  /** Every item ever loaded with setStock: what the sweeper, reconcile and the report walk. */
  items(): Promise<string[]>;
  /** The processor gave up on the request's message: the queue dead-letters it, and its hold may now expire. */
  markDeadLettered(itemId: string, requestId: string): Promise<void>;
  /** Holds the sweeper must look at, by the Redis clock, at most `limit`. */
  overdue(itemId: string, options: { ttlMs: number; staleMs: number; retentionMs: number; limit: number }): Promise<OverdueHold[]>;
  /** Release a hold its buy call left unqueued for longer than `staleMs`; false if it moved on meanwhile. */
  abandon(itemId: string, requestId: string, staleMs: number): Promise<boolean>;
  /** The hold of a request; undefined once settled, withdrawn or never admitted. */
  hold(itemId: string, requestId: string): Promise<Hold | undefined>;
  /** How the inventory settled a request (its ledger), if it did; not the truth, which is the order record. */
  settled(itemId: string, requestId: string): Promise<Order.FinalStatus | undefined>;
}

/** One item's counters and bookkeeping as one consistent read, for reconcile. Maps: keys are buyers' strings. */
export interface ItemState {
  levels?: ItemLevels;
  /** Units on sale (stock + in_flight + sold) as last set by an operator; absent after a cache loss. */
  total?: number;
  users: Map<string, number>;
  holds: Hold[];
  ledger: Map<string, LedgerEntry>;
}

/** What reconcile writes: counters derived from the recorded orders (see lua/reconcile.lua). */
export interface RepairPlan {
  ledger_len: number;
  total: number;
  per_user_limit: number;
  completed: Map<string, number>;
  ledger: { request_id: string; status: Order.FinalStatus; user_id: string; amount: number }[];
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
  /** Count one refusal of a buy for an item on sale that the door did not count itself (Buy.Outcome `counted`). */
  rejected(itemId: string, reason: Order.RejectionReason): Promise<void>;
  rejections(itemId: string): Promise<Record<string, number>>;
}

/**
 * "registered": first time; "already_registered": the same request again (a retry, a takeover), so an earlier
 * attempt may have sent its message; "reused": the request_id names another item, user or amount.
 */
export type Registration = "registered" | "already_registered" | "reused";

/**
 * Every request_id with the item, user and amount it was first accepted for, so a reuse for another item is refused.
 * A buy registers after its admission and before its message is sent: a registered request may be on the queue.
 */
export interface RequestRegistry {
  register(order: Order.Request): Promise<Registration>;
  find(requestId: string): Promise<Order.Request | undefined>;
}

/** Where a dead letter was read from, when the transport knows (Kafka: the record's key and topic-partition@offset). */
export interface DeadLetterOrigin {
  key?: string | null;
  source?: string;
}

export interface OrderQueue {
  enqueue(message: Order.Message, correlationId: string): Promise<void>;
  /** Straight to the DLQ (on Kafka, the dead-letter topic), for a message that can never be processed. */
  deadLetter(body: string, reason: string, correlationId?: string, origin?: DeadLetterOrigin): Promise<void>;
}

/**
 * How often one delivered record has failed. SQS counts receives itself (ApproximateReceiveCount); a Kafka event
 * source mapping does not say, so the Kafka processor counts its failures here, and gives up at MAX_RECEIVE_COUNT.
 */
export interface DeliveryAttempts {
  /** Count one more failure of the record `recordId` (of item `itemId`); resolves to the failures counted so far. */
  failed(itemId: string, recordId: string): Promise<number>;
}

export interface OrderStore {
  get(requestId: string): Promise<Order.Record | undefined>;
  /** The records of many requests in one read (a processor batch); absent ones are missing from the map. */
  getMany(requestIds: string[]): Promise<Map<string, Order.Record>>;
  /** Record a final status, unless the order already has one: status never goes backwards. */
  finalize(message: Order.Message, status: Order.FinalStatus, correlationId: string): Promise<"written" | "already_final">;
}

/** Recorded orders of one item (the table's by_item index), for reconcile and the sale report. */
export interface OrderHistory {
  byItem(itemId: string): Promise<Order.Record[]>;
}

export interface Payments {
  charge(order: Order.Message): Promise<"approved" | "declined">;
  /** Give back an approved charge whose order did not complete (the order record says otherwise). */
  refund(order: Order.Message): Promise<void>;
}

/** Liveness of one dependency, checked for real. */
export interface Probe {
  check(): Promise<void>;
}
