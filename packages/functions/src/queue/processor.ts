import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { Fulfilment } from "@flash/core/domain/fulfilment";
import type { Order } from "@flash/core/domain/order";
import { ORDERS_QUEUE } from "@flash/core/contract/resources";
import { Metric } from "@flash/core/contract/metrics";
import { initClients, runtime } from "@flash/core/runtime/wire";
import { count, inventoryRemaining, logger, loggerFor, metrics, milliseconds } from "@flash/core/runtime/telemetry";
import { parseOrderMessage, prefetchRecords, recordOutcome } from "./outcome";

// The AWS SDK clients this function uses, loaded at init: DynamoDB (the order record) and SQS (dead-lettering an unparseable message).
await initClients("sqs", "dynamodb");

/**
 * The queue consumer: each record of a batch is settled on its own; failures go back to the queue as
 * batch item failures and, after maxReceiveCount receives, to the DLQ by the queue's redrive policy.
 */
export namespace Processor {
  export async function handle(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
    const stockLeft = new Map<string, number>();
    // Each body parsed once: the batch's records are read for the messages that parse, the rest are dead-lettered.
    const messages = new Map<string, Order.Message | Error>();
    for (const rec of event.Records) {
      try {
        messages.set(rec.messageId, parse(rec.body));
      } catch (err) {
        messages.set(rec.messageId, err as Error);
      }
    }
    const records = await prefetchRecords([...messages.values()].filter((m): m is Order.Message => !(m instanceof Error)));
    // A BatchProcessor keeps the batch's successes and failures on itself: one per call, so that batches handled
    // concurrently in one process (the local profile's pollers) never report each other's failures. It runs the
    // records concurrently, so their Redis calls leave in one pipelined write per step.
    const batch = new BatchProcessor(EventType.SQS);
    const response = await processPartialResponse(event, (rec: SQSRecord) => record(rec, messages.get(rec.messageId)!, records, stockLeft), batch, {
      context,
      throwOnFullBatchFailure: false,
    });
    for (const [itemId, stock] of stockLeft) inventoryRemaining(itemId, stock); // once per item per batch
    return response;
  }

  export const parse: (body: string) => Order.Message = parseOrderMessage;

  async function record(
    rec: SQSRecord,
    message: Order.Message | Error,
    records: Map<string, Order.Record> | undefined,
    stockLeft: Map<string, number>,
  ): Promise<void> {
    const correlation = rec.messageAttributes?.[ORDERS_QUEUE.correlationAttribute]?.stringValue ?? rec.messageId;
    const log = loggerFor(correlation, { message_id: rec.messageId });
    const deps = runtime();
    if (message instanceof Error) {
      // Retrying cannot fix a malformed message: dead-letter it now, with the reason attached.
      const reason = `unparseable message: ${message.message}`;
      await deps.queue.deadLetter(rec.body, reason, correlation);
      count(Metric.OrdersDeadLettered);
      log.error("message dead-lettered", { reason });
      return;
    }
    const started = performance.now();
    try {
      const prefetched = records && { record: records.get(message.request_id) };
      recordOutcome(message, await Fulfilment.process(message, deps, correlation, prefetched), log, stockLeft);
    } catch (err) {
      const receives = Number(rec.attributes?.ApproximateReceiveCount ?? 1);
      const last = receives >= deps.config.MAX_RECEIVE_COUNT;
      if (last) {
        count(Metric.OrdersDeadLettered);
        // From now its hold may expire, RESERVATION_TTL_SECONDS later, unless an operator redrives it.
        await deps.inventory.markDeadLettered(message.item_id, message.request_id).catch(() => undefined);
      }
      log.warn(last ? "processing failed; the queue moves it to the DLQ" : "processing failed; will retry", {
        request_id: message.request_id, receives, error: (err as Error).message, error_name: (err as Error).name,
      });
      throw err;
    } finally {
      milliseconds(Metric.ProcessingDuration, performance.now() - started);
    }
  }
}

/** The SQS event source mapping's target, with ReportBatchItemFailures. */
export const handler = middy(Processor.handle).use(injectLambdaContext(logger)).use(logMetrics(metrics));
