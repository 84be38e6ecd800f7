import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/** JSON logs and EMF metrics through Powertools. One namespace; the stage is the only dimension. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "flash-sale" });

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "FlashSale",
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "flash-sale",
  defaultDimensions: { stage: process.env.STAGE ?? "local" },
});

/** Every metric the engine emits; docs/metrics.md explains each. */
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
} as const;

/** Rejections by reason, e.g. RejectedSoldOut; failures by status, e.g. FailedPayment. */
const pascal = (s: string) => s.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());
export const rejectedMetric = (reason: string) => `Rejected${pascal(reason)}`;
export const failedMetric = (status: string) => `Failed${pascal(status.replace(/^FAILED_/, ""))}`;

export function count(name: string, value = 1) {
  metrics.addMetric(name, MetricUnit.Count, value);
}

export function milliseconds(name: string, value: number) {
  metrics.addMetric(name, MetricUnit.Milliseconds, value);
}

/**
 * A logger for one invocation or record. A child, not appendKeys on the shared instance, so that concurrent
 * invocations in the local profile never swap correlation ids.
 */
export function loggerFor(correlationId: string, extra: Record<string, string> = {}) {
  return logger.createChild({ persistentKeys: { correlation_id: correlationId, ...extra } });
}
