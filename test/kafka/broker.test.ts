import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Kafka, logLevel, type KafkaMessage } from "kafkajs";
import { kafkaOrderQueue } from "@flash/core/adapters/kafka/queue";
import { ensureTopics } from "@flash/core/adapters/kafka/topics";
import { loadConfig } from "@flash/core/contract/environment";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { runOps } from "../../scripts/ops/cli";
import { client } from "../support/http";
import { waitFor } from "../support/fixtures";

/**
 * The Kafka transport against a real Kafka-protocol broker at KAFKA_BROKERS (Kafka, Redpanda, ...). Run with
 * `npm run test:kafka`; vitest.config.ts defines this project only when KAFKA_BROKERS is set, so `npm test` neither
 * runs nor counts these tests (it says so). Each run uses topics and groups of its own.
 */

const BROKERS = process.env.KAFKA_BROKERS!;
const run = randomUUID().slice(0, 8);
const topics = { orders: `orders-${run}`, deadLetter: `orders-${run}-dlt` };
const kafka = new Kafka({ clientId: "flash-sale-tests", brokers: BROKERS.split(","), logLevel: logLevel.NOTHING });

/** Every record of a topic from the beginning, until `count` have arrived. */
async function readTopic(topic: string, count: number, timeoutMs = 20_000): Promise<(KafkaMessage & { partition: number })[]> {
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}` });
  const seen: (KafkaMessage & { partition: number })[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void seen.push({ ...message, partition }) });
    await waitFor(async () => seen.length >= count, timeoutMs);
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

const order = (item: string) => ({ request_id: `r-${randomUUID()}`, user_id: `u-${randomUUID().slice(0, 6)}`, item_id: item, amount: 1, accepted_at: new Date().toISOString() });

describe("kafka adapter against a broker", () => {
  const queue = kafkaOrderQueue(loadConfig({ QUEUE_TRANSPORT: "kafka", KAFKA_BROKERS: BROKERS, KAFKA_TOPIC: topics.orders, KAFKA_DEAD_LETTER_TOPIC: topics.deadLetter }));

  beforeAll(async () => {
    await ensureTopics(kafka, [
      { name: topics.orders, partitions: 3 },
      { name: topics.deadLetter, partitions: 3 },
    ]);
  });
  afterAll(() => queue.destroy());

  it("writes an order keyed by item_id with its correlation id, one item's orders to one partition, and reads the topic's metadata", async () => {
    await queue.check();
    const a = [order("sku-a"), order("sku-a"), order("sku-a")];
    const b = order("sku-b");
    for (const m of [...a, b]) await queue.enqueue(m, `corr-${m.request_id}`);
    const records = await readTopic(topics.orders, 4);
    const byRequest = new Map(records.map((r) => [JSON.parse(r.value!.toString()).request_id, r]));
    for (const m of [...a, b]) {
      const r = byRequest.get(m.request_id)!;
      expect(r.key!.toString()).toBe(m.item_id);
      expect(r.headers!.correlation_id!.toString()).toBe(`corr-${m.request_id}`);
      expect(JSON.parse(r.value!.toString())).toEqual(m);
    }
    expect(new Set(a.map((m) => byRequest.get(m.request_id)!.partition)).size).toBe(1);
    // and in the order they were written
    const offsets = a.map((m) => Number(byRequest.get(m.request_id)!.offset));
    expect([...offsets].sort((x, y) => x - y)).toEqual(offsets);
  });

  it("dead-letters a body untouched with the reason, correlation id and source", async () => {
    await queue.deadLetter("{bad", "unparseable message: body is not JSON", "corr-x", { key: "sku-z", source: "orders-1@7" });
    const [r] = await readTopic(topics.deadLetter, 1);
    expect(r!.value!.toString()).toBe("{bad");
    expect(r!.key!.toString()).toBe("sku-z");
    expect(r!.headers!.failure_reason!.toString()).toBe("unparseable message: body is not JSON");
    expect(r!.headers!.dead_letter_source!.toString()).toBe("orders-1@7");
  });
});

describe("npm start with QUEUE_TRANSPORT=kafka", () => {
  let engine: LocalEngine;
  const engineTopics = { orders: `orders-e-${run}`, deadLetter: `orders-e-${run}-dlt` };

  beforeAll(async () => {
    engine = await startLocalEngine({
      port: 0,
      sweepIntervalMs: 0,
      env: {
        QUEUE_TRANSPORT: "kafka",
        KAFKA_BROKERS: BROKERS,
        KAFKA_TOPIC: engineTopics.orders,
        KAFKA_DEAD_LETTER_TOPIC: engineTopics.deadLetter,
        KAFKA_CONSUMER_GROUP: `processor-${run}`,
        MAX_RECEIVE_COUNT: "2",
      },
    });
  }, 60_000);
  afterAll(() => engine?.stop());

  it("settles a buy through the topic, exactly as on SQS", async () => {
    const api = client(engine);
    expect((await api.setStock("sku-k", 5, 2)).status).toBe(200);
    const requestId = `r-${randomUUID()}`;
    const accepted = await api.buy({ user_id: "alice", item_id: "sku-k", amount: 1, request_id: requestId });
    expect(accepted.status).toBe(202);
    await waitFor(async () => (await api.order(requestId)).body.status === "COMPLETED", 30_000);
    expect((await api.levels("sku-k")).body).toMatchObject({ stock: 4, in_flight: 0, sold: 1 });
    expect((await api.health()).body).toMatchObject({ status: "ok", queue: "ok" });
  });

  it("dead-letters a poison record, and ops dlq / redrive work on the dead-letter topic", async () => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: engineTopics.orders, messages: [{ key: "junk", value: "{poison", headers: { correlation_id: "corr-poison" } }] });
    await producer.disconnect();
    await readTopic(engineTopics.deadLetter, 1, 30_000);

    const lines: string[] = [];
    const io = {
      env: {
        API_URL: engine.url,
        ADMIN_TOKEN: engine.adminToken,
        QUEUE_TRANSPORT: "kafka",
        KAFKA_BROKERS: BROKERS,
        KAFKA_TOPIC: engineTopics.orders,
        KAFKA_DEAD_LETTER_TOPIC: engineTopics.deadLetter,
      },
      out: (l: string) => void lines.push(l),
      err: (l: string) => void lines.push(l),
    };
    expect(await runOps(["dlq", "--json"], io)).toBe(0);
    const letters = JSON.parse(lines.pop()!);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ body: "{poison", correlation_id: "corr-poison" });
    expect(letters[0].failure_reason).toMatch(/unparseable message/);
    // listing took nothing away
    expect(await runOps(["dlq", "--json"], io)).toBe(0);
    expect(JSON.parse(lines.pop()!)).toHaveLength(1);

    expect(await runOps(["redrive", "--json"], io)).toBe(0);
    expect(JSON.parse(lines.pop()!)).toMatchObject({ moved: 1 });
    // Redriven, it is still no order: the processor dead-letters it again, as a new record. The redrive group is past
    // the first one, so the list holds the new one only.
    const again = await waitFor(async () => {
      expect(await runOps(["dlq", "--json"], io)).toBe(0);
      const listed = JSON.parse(lines.pop()!) as { partition: number; offset: string }[];
      return listed.length === 1 && `${listed[0]!.partition}@${listed[0]!.offset}` !== `${letters[0].partition}@${letters[0].offset}` && listed;
    }, 30_000, 500);
    expect(again).toHaveLength(1);
  }, 90_000);
});
