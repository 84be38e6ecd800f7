import type { MSKEvent, MSKRecord } from "aws-lambda";

/**
 * The event an Amazon MSK (or self-managed Kafka) event source mapping invokes a function with, and the partial batch
 * response it reads back, as the AWS Lambda developer guide documents them:
 *  - `records` is an object keyed by "<topic>-<partition>"; each key holds that partition's records in offset order;
 *  - `key` and `value` are base64 (either may be missing: a record without a key, a tombstone);
 *  - `headers` is a list of one-entry objects, each header's value a list of byte values (numbers 0-255);
 *  - with ReportBatchItemFailures, `{ batchItemFailures: [{ itemIdentifier: { partition: "<topic>-<partition>",
 *    offset } }] }` makes the mapping go on with that partition from that offset: it and every later record of the
 *    partition come again; an empty list is full success, and a thrown error fails (and retries) the whole batch.
 */

/** One delivered record, decoded. */
export interface DeliveredRecord {
  /** The event's key for the record's partition, "<topic>-<partition>": what a batch item failure names. */
  partitionKey: string;
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

export interface KafkaBatchItemFailure {
  itemIdentifier: { partition: string; offset: number };
}

export interface KafkaBatchResponse {
  batchItemFailures: KafkaBatchItemFailure[];
}

const text = (base64: string | null | undefined) => (base64 == null ? null : Buffer.from(base64, "base64").toString("utf8"));

/** Headers as name → UTF-8 text; a name sent twice keeps its last value. */
export function decodeHeaders(headers: MSKRecord["headers"] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of headers ?? []) {
    for (const [name, bytes] of Object.entries(entry)) out[name] = Buffer.from(bytes as number[]).toString("utf8");
  }
  return out;
}

/** Every record of the event, partition by partition, each partition's in offset order. */
export function deliveredRecords(event: Pick<MSKEvent, "records">): DeliveredRecord[] {
  const out: DeliveredRecord[] = [];
  for (const [partitionKey, records] of Object.entries(event.records ?? {})) {
    const decoded = records.map((r) => ({
      partitionKey,
      topic: r.topic,
      partition: Number(r.partition),
      offset: Number(r.offset),
      timestamp: Number(r.timestamp),
      key: text(r.key),
      value: text(r.value) ?? "",
      headers: decodeHeaders(r.headers),
    }));
    out.push(...decoded.sort((a, b) => a.offset - b.offset));
  }
  return out;
}

/** The response for the partitions that must go on from an offset: the lowest unfinished offset of each. */
export function batchResponse(resumeAt: Map<string, number>): KafkaBatchResponse {
  return { batchItemFailures: [...resumeAt].map(([partition, offset]) => ({ itemIdentifier: { partition, offset } })) };
}
