import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import type { Context, MSKEvent } from "aws-lambda";
import { Fulfilment } from "@flash/core/domain/fulfilment";
import type { Order } from "@flash/core/domain/order";
import { ORDERS_TOPIC } from "@flash/core/contract/resources";
import { Metric } from "@flash/core/contract/metrics";
import { recordSource } from "@flash/core/adapters/kafka/records";
import { initClients, runtime } from "@flash/core/runtime/wire";
import { count, inventoryRemaining, logger, loggerFor, metrics, milliseconds } from "@flash/core/runtime/telemetry";
import { batchResponse, deliveredRecords, type DeliveredRecord, type KafkaBatchResponse } from "./msk-event";
import { parseOrderMessage, prefetchRecords, recordOutcome } from "./outcome";

// The clients this function uses, loaded at init: DynamoDB (the order record) and the Kafka producer (dead letters).
await initClients("kafka", "dynamodb");

/**
 * The MSK event source mapping's target: the same Fulfilment.process as the SQS processor, for records that arrive
 * grouped by topic-partition (docs/kafka.md has the whole design).
 *
 * - Order: within a partition, one item's records are settled one after the other, in offset order; different items
 *   (and partitions) run concurrently, so a batch's Redis calls still leave together.
 * - A failure stops that item's records for this invocation, and the partition is reported to go on from its lowest
 *   unfinished offset (ReportBatchItemFailures): that record and every later one of the partition come again. Records
 *   of other items that did settle come again too, and settle as nothing (the ledger and the order record say so).
 * - Every failure of a record is counted (DeliveryAttempts, in the item's Redis slot). At MAX_RECEIVE_COUNT the
 *   processor writes the record to the dead-letter topic itself, with the reason, marks the hold dead-lettered (it may
 *   expire RESERVATION_TTL_SECONDS later unless redriven) and goes on: a poison record does not hold its partition.
 * - An unparseable record goes to the dead-letter topic at once, as on SQS.
 * - A dead letter that cannot be written is a failure like any other: the record comes again.
 * What the processor cannot handle itself (a timeout, a crash, Redis down so nothing can be counted) the mapping
 * retries, up to its MaximumRetryAttempts, and then writes to the same dead-letter topic (its on-failure destination).
 */
export namespace KafkaProcessor {
  type Outcome = "done" | "again";

  interface Parsed {
    record: DeliveredRecord;
    message?: Order.Message;
    poison?: string;
  }

  export async function handle(event: MSKEvent, _context?: Context): Promise<KafkaBatchResponse> {
    const parsed: Parsed[] = deliveredRecords(event).map((record) => {
      try {
        return { record, message: parseOrderMessage(record.value) };
      } catch (err) {
        return { record, poison: (err as Error).message };
      }
    });
    const records = await prefetchRecords(parsed.flatMap((p) => (p.message ? [p.message] : [])));
    const stockLeft = new Map<string, number>();

    // Lanes: one per partition and item, each in offset order. An unparseable record is a lane of its own.
    const lanes = new Map<string, Parsed[]>();
    for (const p of parsed) {
      const lane = `${p.record.partitionKey}\u0000${p.message?.item_id ?? `\u0000${p.record.offset}`}`;
      lanes.set(lane, [...(lanes.get(lane) ?? []), p]);
    }
    const resumeAt = new Map<string, number>();
    await Promise.all(
      [...lanes.values()].map(async (lane) => {
        for (const p of lane) {
          if ((await settle(p, records, stockLeft)) === "done") continue;
          const { partitionKey, offset } = p.record;
          resumeAt.set(partitionKey, Math.min(resumeAt.get(partitionKey) ?? offset, offset));
          return; // the item's later records wait for this one: they come again with it
        }
      }),
    );
    for (const [itemId, stock] of stockLeft) inventoryRemaining(itemId, stock); // once per item per batch
    return batchResponse(resumeAt);
  }

  async function settle(p: Parsed, records: Map<string, Order.Record> | undefined, stockLeft: Map<string, number>): Promise<Outcome> {
    const { record } = p;
    const source = recordSource(record.topic, record.partition, record.offset);
    const correlation = record.headers[ORDERS_TOPIC.correlationHeader] ?? source;
    const log = loggerFor(correlation, { record: source });
    const deps = runtime();
    const origin = { key: record.key, source };
    if (!p.message) {
      // Retrying cannot fix a malformed record: dead-letter it now, with the reason attached.
      const reason = `unparseable message: ${p.poison}`;
      try {
        await deps.queue.deadLetter(record.value, reason, correlation, origin);
      } catch (err) {
        log.warn("dead-lettering failed; will retry", { reason, error: (err as Error).message });
        return "again";
      }
      count(Metric.OrdersDeadLettered);
      log.error("message dead-lettered", { reason });
      return "done";
    }
    const message = p.message;
    const started = performance.now();
    try {
      const prefetched = records && { record: records.get(message.request_id) };
      recordOutcome(message, await Fulfilment.process(message, deps, correlation, prefetched), log, stockLeft);
      return "done";
    } catch (err) {
      const failure = { request_id: message.request_id, error: (err as Error).message, error_name: (err as Error).name };
      const attempts = await deps.attempts.failed(message.item_id, `${record.topic}:${record.partition}:${record.offset}`).catch(() => undefined);
      if (attempts === undefined || attempts < deps.config.MAX_RECEIVE_COUNT) {
        log.warn("processing failed; will retry", { ...failure, attempts });
        return "again";
      }
      const reason = `failed ${attempts} times, the last: ${(err as Error).name}: ${(err as Error).message}`;
      try {
        await deps.queue.deadLetter(record.value, reason, correlation, origin);
      } catch (deadLetterError) {
        log.warn("processing failed; dead-lettering failed too; will retry", { ...failure, attempts, dead_letter_error: (deadLetterError as Error).message });
        return "again";
      }
      count(Metric.OrdersDeadLettered);
      // From now its hold may expire, RESERVATION_TTL_SECONDS later, unless an operator redrives it.
      await deps.inventory.markDeadLettered(message.item_id, message.request_id).catch(() => undefined);
      log.error("processing failed; dead-lettered", { ...failure, attempts });
      return "done";
    } finally {
      milliseconds(Metric.ProcessingDuration, performance.now() - started);
    }
  }
}

/** The MSK event source mapping's target, with ReportBatchItemFailures (Kafka's form: topic-partition and offset). */
export const handler = middy(KafkaProcessor.handle).use(injectLambdaContext(logger)).use(logMetrics(metrics));
