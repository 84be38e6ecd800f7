import { afterEach, describe, expect, it, vi } from "vitest";
import type { MSKEvent } from "aws-lambda";
import { CreatePayload } from "@jm18457/kafkajs-msk-iam-authentication-mechanism/lib/create-payload";
import { createSaslAuthenticationRequest } from "@jm18457/kafkajs-msk-iam-authentication-mechanism/lib/create-sasl-authentication-request";
import { ACKS_ALL, deadLetterRecord, orderRecord, PRODUCER_SETTINGS, recordSource, redrivenRecord } from "@flash/core/adapters/kafka/records";
import { mskIamPayload, saslFrame } from "@flash/core/adapters/kafka/msk-iam";
import { brokerList } from "@flash/core/adapters/kafka/client";
import { loadConfig } from "@flash/core/contract/environment";
import { batchResponse, decodeHeaders, deliveredRecords } from "@flash/functions/queue/msk-event";
import { AWS_DOCUMENTED_EVENT, mskEvent } from "../support/msk";

/** The Kafka transport's rules that need no broker: what is written, how MSK's IAM authentication signs, what an event carries. */

const order = { request_id: "r-1", user_id: "u-1", item_id: "sku-9", amount: 2, accepted_at: "2026-11-27T18:00:00.000Z" };

describe("records the Kafka transport writes", () => {
  it("produces idempotently with acks from every in-sync replica, at most 5 requests in flight (order kept on retries)", () => {
    expect(PRODUCER_SETTINGS).toEqual({ idempotent: true, maxInFlightRequests: 5 });
    expect(ACKS_ALL).toBe(-1);
  });

  it("keys an order by item_id, so one item's orders share a partition, with the correlation id in a header", () => {
    expect(orderRecord(order, "corr-7")).toEqual({ key: "sku-9", value: JSON.stringify(order), headers: { correlation_id: "corr-7" } });
  });

  it("dead-letters the body untouched with the reason, correlation id, key and source in headers", () => {
    expect(deadLetterRecord("{bad", { reason: "unparseable", correlationId: "c", key: "k", source: recordSource("orders", 3, 41) })).toEqual({
      key: "k",
      value: "{bad",
      headers: { failure_reason: "unparseable", correlation_id: "c", dead_letter_source: "orders-3@41" },
    });
    // without a key of its own, the item the body names keeps the dead letter with its item
    expect(deadLetterRecord(JSON.stringify(order), { reason: "x" }).key).toBe("sku-9");
    expect(deadLetterRecord("not json", { reason: "x" }).key).toBeNull();
    expect(deadLetterRecord("b", { reason: "r".repeat(5000) }).headers.failure_reason).toHaveLength(1000);
  });

  it("redrives a dead letter with its key, body and correlation id, and without the failure headers", () => {
    const headers = { correlation_id: "c", failure_reason: "why", dead_letter_source: "orders-0@1", other: "kept" };
    expect(redrivenRecord(null, JSON.stringify(order), headers)).toEqual({ key: "sku-9", value: JSON.stringify(order), headers: { correlation_id: "c", other: "kept" } });
  });

  it("reads the transport and brokers from the environment, SQS unless told otherwise", () => {
    expect(loadConfig({}).QUEUE_TRANSPORT).toBe("sqs");
    const kafka = loadConfig({ QUEUE_TRANSPORT: "kafka", KAFKA_BROKERS: "a:9098, b:9098," });
    expect(kafka).toMatchObject({ QUEUE_TRANSPORT: "kafka", KAFKA_TOPIC: "orders", KAFKA_DEAD_LETTER_TOPIC: "orders-dlt", KAFKA_IAM_AUTH: "false" });
    expect(brokerList(kafka.KAFKA_BROKERS)).toEqual(["a:9098", "b:9098"]);
    expect(() => loadConfig({ QUEUE_TRANSPORT: "rabbit" })).toThrow(/QUEUE_TRANSPORT/);
  });
});

describe("SASL AWS_MSK_IAM", () => {
  afterEach(() => vi.useRealTimers());

  const credentials = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sessionToken: "IQoJb3JpZ2luX2VjE+/token=" };
  const at = new Date("2026-11-27T18:00:05.123Z");
  const host = "boot-abc123.c1.kafka-serverless.us-east-1.amazonaws.com";

  it("signs the same payload as the maintained kafkajs plugin (@jm18457/kafkajs-msk-iam-authentication-mechanism)", async () => {
    vi.useFakeTimers({ now: at });
    for (const creds of [credentials, { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey }]) {
      const theirs = await new CreatePayload({ region: "us-east-1", credentials: creds, userAgent: "flash-sale" }).create({ brokerHost: host });
      const ours = await mskIamPayload(host, { region: "us-east-1", credentials: creds, now: () => at });
      expect(ours).toEqual(JSON.parse(JSON.stringify(theirs))); // theirs carries an undefined token when there is none
      expect(saslFrame(ours).equals(createSaslAuthenticationRequest(theirs).encode() as Buffer)).toBe(true);
    }
  });

  it("signs for kafka-cluster:Connect on the broker's host, valid 15 minutes", async () => {
    const payload = await mskIamPayload(host, { region: "eu-west-1", credentials, now: () => at });
    expect(payload).toMatchObject({
      version: "2020_10_22",
      host,
      action: "kafka-cluster:Connect",
      "x-amz-algorithm": "AWS4-HMAC-SHA256",
      "x-amz-credential": "AKIAEXAMPLE/20261127/eu-west-1/kafka-cluster/aws4_request",
      "x-amz-date": "20261127T180005Z",
      "x-amz-expires": "900",
      "x-amz-security-token": credentials.sessionToken,
      "x-amz-signedheaders": "host",
    });
    expect(payload["x-amz-signature"]).toMatch(/^[0-9a-f]{64}$/);
    const frame = saslFrame(payload);
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
  });
});

describe("the MSK event source mapping's event", () => {
  it("decodes the event AWS documents: base64 key and value, headers as byte lists, grouped by topic-partition", () => {
    expect(deliveredRecords(AWS_DOCUMENTED_EVENT as unknown as MSKEvent)).toEqual([
      {
        partitionKey: "mytopic-0",
        topic: "mytopic",
        partition: 0,
        offset: 15,
        timestamp: 1545084650987,
        key: "recordKey",
        value: '{"key":"value"}',
        headers: { headerKey: "headerValue" },
      },
    ]);
  });

  it("keeps each partition in offset order, and takes a record without key or headers", () => {
    const event = mskEvent({ offset: 9, value: "b", partition: 1 }, { offset: 7, value: "a", partition: 1, key: null }, { offset: 3, value: "c", partition: 0 });
    delete (event.records["orders-0"]![0] as { headers?: unknown }).headers;
    const records = deliveredRecords(event);
    expect(records.map((r) => [r.partitionKey, r.offset, r.value, r.key])).toEqual([
      ["orders-1", 7, "a", null],
      ["orders-1", 9, "b", "k"],
      ["orders-0", 3, "c", "k"],
    ]);
    expect(records[2]!.headers).toEqual({});
    expect(decodeHeaders([{ a: [49] }, { a: [50] }, { b: [] }])).toEqual({ a: "2", b: "" });
  });

  it("answers a partial failure with the topic-partition and the offset to go on from", () => {
    expect(batchResponse(new Map())).toEqual({ batchItemFailures: [] });
    expect(batchResponse(new Map([["orders-2", 41], ["orders-0", 7]]))).toEqual({
      batchItemFailures: [{ itemIdentifier: { partition: "orders-2", offset: 41 } }, { itemIdentifier: { partition: "orders-0", offset: 7 } }],
    });
  });
});
