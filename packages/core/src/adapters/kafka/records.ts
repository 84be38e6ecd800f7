import type { Order } from "../../domain/order";
import { ORDERS_TOPIC } from "../../contract/resources";

/**
 * What the Kafka transport writes, as plain values: the producer's settings and the records for an order and for a
 * dead letter. No client here, so the rules are tested without a broker (test/unit/kafka-records.test.ts).
 */

/**
 * The producer: idempotent (the broker drops a retried batch it already wrote, so a retry inside one send never
 * writes an order twice), which Kafka only grants with acks from every in-sync replica and at most 5 requests in
 * flight per connection (more would let a retry overtake an earlier batch and reorder one item's orders).
 */
export const PRODUCER_SETTINGS = { idempotent: true, maxInFlightRequests: 5 } as const;

/** acks=all (-1): a send succeeds only once every in-sync replica has the record. */
export const ACKS_ALL = -1;

/** One record to send, in the shape kafkajs takes (`Message`). */
export interface OutgoingRecord {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

/**
 * An accepted order: keyed by item_id, so all of one item's orders go to one partition and are read back in the
 * order they were written; the value is the same JSON the SQS transport sends; the correlation id in a header.
 */
export function orderRecord(message: Order.Message, correlationId: string): OutgoingRecord {
  return { key: message.item_id, value: JSON.stringify(message), headers: { [ORDERS_TOPIC.correlationHeader]: correlationId } };
}

export interface DeadLetterDetails {
  reason: string;
  correlationId?: string;
  /** The record's key where it came from (its item); else taken from the body when the body names one. */
  key?: string | null;
  /** Where the record was read from: "topic-partition@offset". */
  source?: string;
}

/** Failure reasons are kept short: a header, not a log. */
const MAX_REASON = 1000;

/**
 * A record the processor gives up on, for the dead-letter topic: the original body untouched (a redrive sends it back
 * as it was), the same key (an item's dead letters stay in order too), and why, in headers.
 */
export function deadLetterRecord(body: string, details: DeadLetterDetails): OutgoingRecord {
  const headers: Record<string, string> = { [ORDERS_TOPIC.failureReasonHeader]: details.reason.slice(0, MAX_REASON) };
  if (details.correlationId) headers[ORDERS_TOPIC.correlationHeader] = details.correlationId;
  if (details.source) headers[ORDERS_TOPIC.sourceHeader] = details.source;
  return { key: details.key ?? itemOf(body), value: body, headers };
}

/**
 * A dead letter going back to the orders topic (ops redrive): the body and key as they were, the correlation id kept,
 * the failure headers dropped (they described the last attempt; the redriven record starts afresh).
 */
export function redrivenRecord(key: string | null, value: string, headers: Record<string, string>): OutgoingRecord {
  const kept = Object.fromEntries(
    Object.entries(headers).filter(([name]) => name !== ORDERS_TOPIC.failureReasonHeader && name !== ORDERS_TOPIC.sourceHeader),
  );
  return { key: key ?? itemOf(value), value, headers: kept };
}

/** The item a body names, if it is JSON with a string item_id. */
function itemOf(body: string): string | null {
  try {
    const parsed: unknown = JSON.parse(body);
    const item = parsed && typeof parsed === "object" ? (parsed as { item_id?: unknown }).item_id : undefined;
    return typeof item === "string" ? item : null;
  } catch {
    return null;
  }
}

/** "orders-3@1042": where a record was read from, as the dead-letter source header and the logs name it. */
export const recordSource = (topic: string, partition: number, offset: number | string) => `${topic}-${partition}@${offset}`;
