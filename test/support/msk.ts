import type { MSKEvent, MSKRecord } from "aws-lambda";

/**
 * MSK event source mapping events built by hand in the shape the AWS Lambda developer guide documents (not with the
 * code under test): records grouped under "<topic>-<partition>", base64 key and value, headers as a list of one-entry
 * objects whose values are lists of byte values.
 */

/**
 * The example MSK event of the AWS documentation (the Lambda developer guide's "Example event", also Powertools'
 * KafkaMskEvent), as published: key "recordKey", value {"key":"value"}, one header "headerKey" = "headerValue".
 */
export const AWS_DOCUMENTED_EVENT = {
  eventSource: "aws:kafka",
  eventSourceArn: "arn:aws:kafka:us-east-1:0123456789019:cluster/SalesCluster/abcd1234-abcd-cafe-abab-9876543210ab-4",
  bootstrapServers: "b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092,b-1.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092",
  records: {
    "mytopic-0": [
      {
        topic: "mytopic",
        partition: 0,
        offset: 15,
        timestamp: 1545084650987,
        timestampType: "CREATE_TIME",
        key: "cmVjb3JkS2V5",
        value: "eyJrZXkiOiJ2YWx1ZSJ9",
        headers: [{ headerKey: [104, 101, 97, 100, 101, 114, 86, 97, 108, 117, 101] }],
      },
    ],
  },
} as const;

export const TOPIC = "orders";
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const bytes = (s: string) => [...Buffer.from(s, "utf8")];

export interface RecordSpec {
  partition?: number;
  offset: number;
  value: string;
  key?: string | null;
  headers?: Record<string, string>;
  topic?: string;
}

export function mskRecord(spec: RecordSpec): MSKRecord {
  return {
    topic: spec.topic ?? TOPIC,
    partition: spec.partition ?? 0,
    offset: spec.offset,
    timestamp: Date.now(),
    timestampType: "CREATE_TIME",
    key: spec.key === null ? (undefined as unknown as string) : b64(spec.key ?? "k"),
    value: b64(spec.value),
    headers: Object.entries(spec.headers ?? {}).map(([name, value]) => ({ [name]: bytes(value) })),
  };
}

/** An event with these records, grouped by topic-partition as the mapping groups them. */
export function mskEvent(...records: RecordSpec[]): MSKEvent {
  const grouped: MSKEvent["records"] = {};
  for (const r of records.map(mskRecord)) (grouped[`${r.topic}-${r.partition}`] ??= []).push(r);
  return {
    eventSource: "aws:kafka",
    eventSourceArn: "arn:aws:kafka:us-east-1:123456789012:cluster/test-flash-sale/5e1c6f32-1a2b-4c3d-9e8f-0a1b2c3d4e5f-s1",
    bootstrapServers: "boot-abc123.c1.kafka-serverless.us-east-1.amazonaws.com:9098",
    records: grouped,
  };
}
