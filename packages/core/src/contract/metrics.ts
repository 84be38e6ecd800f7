import { Order } from "../domain/order";

/**
 * Every metric the engine emits, declared once: the handlers emit these names, stacks/Monitoring.ts charts and
 * alarms on them, and a test checks that docs/metrics.md explains each.
 */
export const Metric = {
  OrdersReceived: "OrdersReceived",
  OrdersAccepted: "OrdersAccepted",
  OrdersRejected: "OrdersRejected",
  EnqueueFailed: "EnqueueFailed",
  BuyDuration: "BuyDuration",
  OrdersProcessed: "OrdersProcessed",
  OrdersCompleted: "OrdersCompleted",
  OrdersFailed: "OrdersFailed",
  OrdersDeadLettered: "OrdersDeadLettered",
  ProcessingDuration: "ProcessingDuration",
  InventoryRemaining: "InventoryRemaining",
  OrdersExpired: "OrdersExpired",
  /** A message whose buy call answered 503 and withdrew the admission: dropped, no order. */
  OrdersWithdrawn: "OrdersWithdrawn",
  /** Redis answered a script with an error: a bug, not an outage. */
  ScriptErrors: "ScriptErrors",
  /** The queue's circuit breaker changed state in one execution environment: opened, half-opened, closed. */
  QueueCircuitOpened: "QueueCircuitOpened",
  QueueCircuitHalfOpened: "QueueCircuitHalfOpened",
  QueueCircuitClosed: "QueueCircuitClosed",
  /** GET /items/{item_id}: the storefront's public read. */
  ItemViewed: "ItemViewed",
} as const;

/** The metric namespace and the `service` dimension Powertools adds. */
export const METRICS_NAMESPACE = "FlashSale";
export const SERVICE_NAME = "flash-sale";

const pascal = (s: string) => s.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
/** Rejections by reason, e.g. RejectedSoldOut. */
export const rejectedMetric = (reason: Order.RejectionReason) => `Rejected${pascal(reason)}`;
/** Failures by status, e.g. FailedPayment. */
export const failedMetric = (status: Order.FailureStatus) => `Failed${pascal(status.replace(/^FAILED_/, ""))}`;

/** Every metric name, the per-reason and per-status ones included. */
export const ALL_METRICS: readonly string[] = [
  ...Object.values(Metric),
  ...Order.REJECTION_REASONS.map(rejectedMetric),
  ...Order.FINAL_STATUSES.filter((s): s is Order.FailureStatus => s !== "COMPLETED").map(failedMetric),
];
