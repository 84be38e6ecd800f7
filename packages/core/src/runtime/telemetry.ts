import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Metric, METRICS_NAMESPACE, SERVICE_NAME } from "../contract/metrics";

/**
 * JSON logs and EMF metrics through Powertools. One namespace; the stage is the only dimension
 * (Powertools adds `service`), except InventoryRemaining, which also has `item` (see inventoryRemaining()).
 * The stage dimension is set when the runtime is wired (useStage), from the configuration.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME });

export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAME,
  defaultDimensions: { stage: "local" },
  // Powertools warns when a flush finds nothing stored. Every buy and batch stores metrics, so that only
  // happens when the local profile runs invocations concurrently and one flush takes another's metrics.
  logger: {
    trace: () => undefined,
    debug: (...args: unknown[]) => logger.debug(String(args[0])),
    info: (...args: unknown[]) => logger.info(String(args[0])),
    warn: (...args: unknown[]) => logger.debug(String(args[0])),
    error: (...args: unknown[]) => logger.error(String(args[0])),
  },
});

export function useStage(stage: string) {
  metrics.setDefaultDimensions({ stage });
}

export function count(name: string, value = 1) {
  metrics.addMetric(name, MetricUnit.Count, value);
}

/**
 * Units left of one item, published twice: with an `item` dimension (one series per item on sale: bounded,
 * because a sale has a handful of items and the processor emits only for items it just settled) and without it,
 * so that the Minimum over all items can drive the inventory-low alarm (alarms cannot use SEARCH).
 */
export function inventoryRemaining(itemId: string, units: number) {
  metrics.singleMetric().addDimension("item", itemId).addMetric(Metric.InventoryRemaining, MetricUnit.Count, units);
  metrics.singleMetric().addMetric(Metric.InventoryRemaining, MetricUnit.Count, units);
}

export function milliseconds(name: string, value: number) {
  metrics.addMetric(name, MetricUnit.Milliseconds, value);
}

/**
 * A logger for one invocation or record: every line carries the correlation id. Keys go with each call,
 * not appendKeys on the shared instance, so concurrent invocations in the local profile never swap ids,
 * and nothing is built per request (a Powertools child logger costs ~50 µs to create).
 */
export function loggerFor(correlationId: string, extra: Record<string, string> = {}) {
  const keys = { correlation_id: correlationId, ...extra };
  return {
    debug: (message: string, attributes: object = {}) => logger.debug(message, { ...keys, ...attributes }),
    info: (message: string, attributes: object = {}) => logger.info(message, { ...keys, ...attributes }),
    warn: (message: string, attributes: object = {}) => logger.warn(message, { ...keys, ...attributes }),
    error: (message: string, attributes: object = {}) => logger.error(message, { ...keys, ...attributes }),
  };
}
