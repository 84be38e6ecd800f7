import { Order } from "@flash/core/domain/order";
import { PoisonMessageError } from "@flash/core/domain/errors";
import type { Fulfilment } from "@flash/core/domain/fulfilment";
import { failedMetric, Metric } from "@flash/core/contract/metrics";
import { count, type loggerFor } from "@flash/core/runtime/telemetry";
import { runtime } from "@flash/core/runtime/wire";

/** What both queue consumers (SQS: processor.ts, Kafka: kafka-processor.ts) share about one delivered order. */

/** An order message from a delivered body, or PoisonMessageError saying why it is not one (retrying cannot fix it). */
export function parseOrderMessage(body: string): Order.Message {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new PoisonMessageError("body is not JSON");
  }
  const parsed = Order.Message.safeParse(json);
  if (!parsed.success) {
    throw new PoisonMessageError(parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  }
  return parsed.data;
}

/**
 * A batch's order records in one read (BatchGetItem), for Fulfilment.process's `prefetched`. If that read fails,
 * undefined: each message then reads its own record, and fails on its own.
 */
export async function prefetchRecords(messages: Iterable<Order.Message>): Promise<Map<string, Order.Record> | undefined> {
  const ids = [...new Set([...messages].map((m) => m.request_id))];
  return ids.length ? runtime().orders.getMany(ids).catch(() => undefined) : new Map();
}

/** Count and log what processing an order came to; the stock left per item is kept for one InventoryRemaining per batch. */
export function recordOutcome(
  message: Order.Message,
  { status, stockLeft }: Fulfilment.Processed,
  log: ReturnType<typeof loggerFor>,
  stockLeftByItem: Map<string, number>,
): void {
  if (status === "WITHDRAWN") {
    count(Metric.OrdersWithdrawn);
    log.info("message dropped: its buy call withdrew the admission and answered 503", { request_id: message.request_id });
    return;
  }
  if (stockLeft !== undefined) stockLeftByItem.set(message.item_id, stockLeft);
  count(Metric.OrdersProcessed);
  if (status === "COMPLETED") count(Metric.OrdersCompleted);
  else {
    count(Metric.OrdersFailed);
    count(failedMetric(status));
  }
  log.info("order settled", { request_id: message.request_id, item_id: message.item_id, status });
}
