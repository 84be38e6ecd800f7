import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MSKEvent } from "aws-lambda";
import { KafkaProcessor } from "@flash/functions/queue/kafka-processor";
import { DynamoOrderStore, dynamoClient } from "@flash/core/adapters/dynamodb/orders";
import { SimulatedPayments } from "@flash/core/adapters/payments/simulated";
import { DependencyUnavailableError } from "@flash/core/domain/errors";
import type { DeadLetterOrigin, OrderQueue, Probe } from "@flash/core/domain/ports";
import type { Order } from "@flash/core/domain/order";
import { useRuntime, wire, type Runtime } from "@flash/core/runtime/wire";
import { LOCAL_CREDENTIALS } from "@flash/local/stand-ins";
import { lambdaContext } from "@flash/local/lambda-context";
import { freePort, startRedisServer } from "@flash/local/redis-server";
import { useLocalServices } from "../support/services";
import { uid } from "../support/fixtures";
import { AWS_DOCUMENTED_EVENT, mskEvent, TOPIC, type RecordSpec } from "../support/msk";

/**
 * The MSK event source mapping's handler (packages/functions/src/queue/kafka-processor.ts) on the same Fulfilment
 * path as the SQS processor, against the run's real redis-server and dynalite: test/integration/processor.test.ts's
 * scenarios with events in the shape AWS documents, and what differs on Kafka (the partial batch response names a
 * topic-partition and offset, one item's records keep their order, the processor counts failures and dead-letters).
 *
 * No Kafka-protocol broker runs here, so the one thing the handler writes to Kafka, a dead letter, goes to an
 * in-memory OrderQueue that records it (and can be made to refuse). The Kafka adapter itself is tested against a
 * broker in test/kafka/ (npm run test:kafka, with KAFKA_BROKERS), and without one for its timeouts in
 * test/integration/kafka-adapter.test.ts.
 */

interface DeadLetter {
  body: string;
  reason: string;
  correlationId?: string;
  origin?: DeadLetterOrigin;
}

let services: Awaited<ReturnType<typeof useLocalServices>>;
const deadLetters: DeadLetter[] = [];
let deadLetterTopicDown = false;

/** The dead-letter topic's stand-in: the handler's only write to Kafka. */
const deadLetterTopic: OrderQueue & Probe = {
  enqueue: async () => {
    throw new Error("the processor never enqueues");
  },
  deadLetter: async (body, reason, correlationId, origin) => {
    if (deadLetterTopicDown) throw new DependencyUnavailableError("queue", new Error("broker unreachable"));
    deadLetters.push({ body, reason, correlationId, origin });
  },
  check: async () => undefined,
};

/** The handlers' runtime on the Kafka transport, the dead-letter topic recorded; `parts` replaces ports (an outage). */
async function useKafkaRuntime(parts: Partial<Runtime> = {}, config: Record<string, string> = {}) {
  const base = wire({ ...services.config, QUEUE_TRANSPORT: "kafka", KAFKA_BROKERS: "unused:9092", ...config }, { credentials: LOCAL_CREDENTIALS });
  await useRuntime({ ...base, queue: deadLetterTopic, ...parts });
  return base;
}

beforeAll(async () => {
  services = await useLocalServices({ maxReceiveCount: 2, visibilityTimeoutSeconds: 1, env: { PAYMENT_DECLINE_USERS: "decliner" } });
  await useKafkaRuntime();
});
afterAll(async () => {
  await services.stop();
});

const runtime = () => services.runtime();
const handle = (event: MSKEvent) => KafkaProcessor.handle(event, lambdaContext("processor"));

const message = (item: string, user = uid("u"), amount = 1): Order.Message => ({
  request_id: uid("r"), user_id: user, item_id: item, amount, accepted_at: new Date().toISOString(),
});

let nextOffset = 1000;
/** A record of an order as the buy call writes it: keyed by item_id, the correlation id in a header. */
const rec = (m: Order.Message | string, extra: Partial<RecordSpec> = {}): RecordSpec => ({
  offset: nextOffset++,
  value: typeof m === "string" ? m : JSON.stringify(m),
  key: typeof m === "string" ? "junk" : m.item_id,
  headers: { correlation_id: "corr-1" },
  ...extra,
});

async function admitted(item: string, user?: string, amount = 1) {
  const m = message(item, user, amount);
  expect((await runtime().inventory.admit(m, uid("attempt"))).kind).toBe("admitted");
  await runtime().inventory.markQueued(item, m.request_id);
  return m;
}

async function loadItem(stock: number, limit = 5) {
  const item = uid("sku");
  await runtime().inventory.setStock(item, stock, limit);
  return item;
}

const none = { batchItemFailures: [] };
const resumeAt = (offset: number, partition = 0) => ({ itemIdentifier: { partition: `${TOPIC}-${partition}`, offset } });

describe("kafka processor (the MSK event source mapping's target)", () => {
  it("accepts the event exactly as AWS documents it (and dead-letters its record, which is no order)", async () => {
    const before = deadLetters.length;
    expect(await handle(AWS_DOCUMENTED_EVENT as unknown as MSKEvent)).toEqual(none);
    const [letter] = deadLetters.slice(before);
    expect(letter).toMatchObject({ body: '{"key":"value"}', origin: { key: "recordKey", source: "mytopic-0@15" } });
    expect(letter!.reason).toMatch(/^unparseable message: /);
    expect(letter!.correlationId).toBe("mytopic-0@15"); // no correlation_id header: the record's coordinates instead
  });

  it("completes an admitted order and records it", async () => {
    const item = await loadItem(5);
    const m = await admitted(item);
    expect(await handle(mskEvent(rec(m)))).toEqual(none);
    expect(await runtime().orders.get(m.request_id)).toMatchObject({ status: "COMPLETED", user_id: m.user_id, amount: 1 });
    expect(await runtime().inventory.levels(item)).toMatchObject({ stock: 4, in_flight: 0, sold: 1 });
  });

  it("takes stock once when the same message is delivered twice, even in one batch", async () => {
    const item = await loadItem(5);
    const m = await admitted(item, undefined, 2);
    expect(await handle(mskEvent(rec(m), rec(m)))).toEqual(none);
    expect(await handle(mskEvent(rec(m)))).toEqual(none);
    expect(await runtime().inventory.levels(item)).toMatchObject({ stock: 3, in_flight: 0, sold: 2 });
  });

  it("repairs a crash between the Lua settlement and the DynamoDB write without selling twice", async () => {
    const item = await loadItem(5);
    const m = await admitted(item);
    await runtime().inventory.settle(m, "COMPLETED", "first");
    expect(await runtime().orders.get(m.request_id)).toBeUndefined();
    expect(await handle(mskEvent(rec(m)))).toEqual(none);
    expect(await runtime().orders.get(m.request_id)).toMatchObject({ status: "COMPLETED" });
    expect(await runtime().inventory.levels(item)).toMatchObject({ stock: 4, in_flight: 0, sold: 1 });
  });

  it("re-takes the hold after a cache loss, and fails the order as sold out when nothing is left", async () => {
    const item = await loadItem(1);
    const lucky = message(item);
    const late = message(item);
    expect(await handle(mskEvent(rec(lucky), rec(late)))).toEqual(none);
    // One item's records settle in offset order: the first written wins the last unit.
    expect((await runtime().orders.get(lucky.request_id))!.status).toBe("COMPLETED");
    expect((await runtime().orders.get(late.request_id))!.status).toBe("FAILED_SOLD_OUT");
    expect(await runtime().inventory.levels(item)).toMatchObject({ stock: 0, in_flight: 0, sold: 1 });
  });

  it("ends a declined payment as FAILED_PAYMENT and refunds the stock exactly once", async () => {
    const item = await loadItem(3);
    const m = await admitted(item, "decliner", 2);
    await handle(mskEvent(rec(m)));
    await handle(mskEvent(rec(m)));
    expect(await runtime().orders.get(m.request_id)).toMatchObject({ status: "FAILED_PAYMENT", reason: "payment declined" });
    expect(await runtime().inventory.levels(item)).toMatchObject({ stock: 3, in_flight: 0, sold: 0 });
  });

  it("sends an unparseable record straight to the dead-letter topic with the reason, and processes the rest of the batch", async () => {
    const item = await loadItem(5);
    const good = await admitted(item);
    const before = deadLetters.length;
    const poison = rec("{not json", { headers: { correlation_id: "corr-poison" } });
    const result = await handle(mskEvent(poison, rec(JSON.stringify({ request_id: "x" })), rec(good)));
    expect(result).toEqual(none);
    expect((await runtime().orders.get(good.request_id))?.status).toBe("COMPLETED");
    const dead = deadLetters.slice(before);
    expect(dead.map((d) => d.body).sort()).toEqual([`{"request_id":"x"}`, "{not json"]);
    const letter = dead.find((d) => d.body === "{not json")!;
    expect(letter.reason).toMatch(/unparseable message: body is not JSON/);
    expect(letter.correlationId).toBe("corr-poison");
    expect(letter.origin).toEqual({ key: "junk", source: `${TOPIC}-0@${poison.offset}` });
  });

  it("retries the partition from the record when the payment service is unreachable, and completes it later", async () => {
    const item = await loadItem(2);
    const m = await admitted(item);
    const r = rec(m);
    await useKafkaRuntime({ payments: new SimulatedPayments({ failureRate: 0, unavailable: true }) });
    try {
      expect(await handle(mskEvent(r))).toEqual({ batchItemFailures: [resumeAt(r.offset)] });
      expect(await runtime().inventory.levels(item)).toMatchObject({ stock: 1, in_flight: 1, sold: 0 });
    } finally {
      await useKafkaRuntime();
    }
    expect(await handle(mskEvent(r))).toEqual(none);
    expect((await runtime().orders.get(m.request_id))?.status).toBe("COMPLETED");
  });

  it("retries when DynamoDB cannot be reached (closed port), without settling twice", async () => {
    const item = await loadItem(2);
    const m = await admitted(item);
    const r = rec(m);
    const db = await dynamoClient({ AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${await freePort()}` });
    const closed = new DynamoOrderStore(db, "orders", 90, 500);
    await useKafkaRuntime({ orders: closed });
    try {
      expect(await handle(mskEvent(r))).toEqual({ batchItemFailures: [resumeAt(r.offset)] });
    } finally {
      db.destroy();
      await useKafkaRuntime();
    }
    expect(await handle(mskEvent(r))).toEqual(none);
    expect(await runtime().inventory.levels(item)).toMatchObject({ stock: 1, in_flight: 0, sold: 1 });
  });

  it("keeps concurrent batches apart: each reports only its own partitions", async () => {
    const item = await loadItem(50, 50);
    const goods = await Promise.all(Array.from({ length: 8 }, () => admitted(item)));
    const bad = rec(message(uid("never-loaded")), { partition: 1 });
    const [a, b] = await Promise.all([
      handle(mskEvent(bad, ...goods.slice(0, 4).map((m) => rec(m, { partition: 2 })))),
      handle(mskEvent(...goods.slice(4).map((m) => rec(m, { partition: 3 })))),
    ]);
    expect(a).toEqual({ batchItemFailures: [resumeAt(bad.offset, 1)] });
    expect(b).toEqual(none);
    for (const m of goods) expect((await runtime().orders.get(m.request_id))?.status).toBe("COMPLETED");
  });

  it("never moves a final status backwards", async () => {
    const m = message("sku");
    const orders = runtime().orders;
    expect(await orders.finalize(m, "COMPLETED", "c")).toBe("written");
    expect(await orders.finalize(m, "FAILED_PAYMENT", "c")).toBe("already_final");
    expect((await orders.get(m.request_id))?.status).toBe("COMPLETED");
  });

  it("reports every partition of a batch from its lowest offset when Redis is down (killed server)", async () => {
    const redis = await startRedisServer();
    try {
      await useKafkaRuntime({}, { REDIS_URL: redis.url });
      const item = await loadItem(5);
      const [a, b, c] = [await admitted(item), await admitted(item), await admitted(item)];
      await redis.stop();
      const [ra, rb, rc] = [rec(a), rec(b, { partition: 4 }), rec(c)];
      const result = await handle(mskEvent(ra, rb, rc));
      expect(result.batchItemFailures).toHaveLength(2);
      expect(result.batchItemFailures).toEqual(expect.arrayContaining([resumeAt(ra.offset), resumeAt(rb.offset, 4)]));
    } finally {
      await useKafkaRuntime();
      await redis.stop();
    }
  });
});

describe("kafka processor: what differs from SQS", () => {
  /** What the mapping does with a partial batch response: deliver the partition again from the reported offset. */
  async function deliverUntilDone(records: RecordSpec[], maxInvocations = 10) {
    let pending = records;
    const invocations: number[] = [];
    while (pending.length && invocations.length < maxInvocations) {
      const { batchItemFailures } = await handle(mskEvent(...pending));
      invocations.push(pending.length);
      const from = batchItemFailures.find((f) => f.itemIdentifier.partition === `${TOPIC}-0`)?.itemIdentifier.offset;
      pending = from === undefined ? [] : pending.filter((r) => r.offset >= from);
    }
    return invocations;
  }

  it("keeps one item's orders in order: a record that fails holds back its item's later records, not other items'", async () => {
    const item = await loadItem(5);
    const other = await loadItem(5);
    // The first record of `item` can never settle: its request_id is held for another buyer.
    const held = await admitted(item);
    const stuck = { ...held, user_id: uid("someone-else") };
    const next = await admitted(item);
    const elsewhere = await admitted(other);
    const records = [rec(stuck), rec(elsewhere), rec(next)];
    const first = await handle(mskEvent(...records));
    expect(first).toEqual({ batchItemFailures: [resumeAt(records[0]!.offset)] });
    expect((await runtime().orders.get(elsewhere.request_id))?.status).toBe("COMPLETED"); // another item goes on
    expect(await runtime().orders.get(next.request_id)).toBeUndefined(); // waits behind the stuck record of its item
    // Redelivered from the stuck record: its second failure (MAX_RECEIVE_COUNT 2) dead-letters it; the item goes on.
    const before = deadLetters.length;
    expect(await handle(mskEvent(...records))).toEqual(none);
    expect((await runtime().orders.get(next.request_id))?.status).toBe("COMPLETED");
    const [letter] = deadLetters.slice(before);
    expect(letter!.body).toBe(JSON.stringify(stuck));
    expect(letter!.reason).toMatch(/^failed 2 times, the last: PoisonMessageError: request .* is held for another user or amount/);
    expect(letter!.origin).toEqual({ key: item, source: `${TOPIC}-0@${records[0]!.offset}` });
  });

  it("dead-letters a record that keeps failing after MAX_RECEIVE_COUNT deliveries, marks its hold, and moves on", async () => {
    const item = await loadItem(5);
    const m = await admitted(item);
    const before = deadLetters.length;
    await useKafkaRuntime({ payments: new SimulatedPayments({ failureRate: 0, unavailable: true }) });
    try {
      expect(await deliverUntilDone([rec(m)])).toEqual([1, 1]); // delivered twice (maxReceiveCount 2), then dead-lettered
    } finally {
      await useKafkaRuntime();
    }
    const [letter] = deadLetters.slice(before);
    expect(letter!.reason).toMatch(/^failed 2 times, the last: DependencyUnavailableError: payment unavailable/);
    expect(letter!.correlationId).toBe("corr-1");
    const overdue = await runtime().inventory.overdue(item, { ttlMs: 0, staleMs: 1e9, retentionMs: 1e9, limit: 10 });
    expect(overdue.map((h) => [h.request_id, h.kind])).toEqual([[m.request_id, "expired"]]); // marked: may expire now
  });

  it("does not lose a record whose dead letter cannot be written: it comes again until the dead-letter topic takes it", async () => {
    const poison = rec("{oops");
    deadLetterTopicDown = true;
    try {
      expect(await handle(mskEvent(poison))).toEqual({ batchItemFailures: [resumeAt(poison.offset)] });
    } finally {
      deadLetterTopicDown = false;
    }
    const before = deadLetters.length;
    expect(await handle(mskEvent(poison))).toEqual(none);
    expect(deadLetters.slice(before).map((d) => d.body)).toEqual(["{oops"]);
  });

  it("settles again as nothing the records of other items that come back with a retried partition", async () => {
    const item = await loadItem(5);
    const done = await admitted(item);
    const records = [rec(message(uid("never-loaded"))), rec(done)];
    expect(await handle(mskEvent(...records))).toEqual({ batchItemFailures: [resumeAt(records[0]!.offset)] });
    await handle(mskEvent(...records)); // the mapping delivers both again; the first is dead-lettered now
    expect(await runtime().inventory.levels(item)).toMatchObject({ stock: 4, in_flight: 0, sold: 1 });
    expect((await runtime().orders.get(done.request_id))?.status).toBe("COMPLETED");
  });
});
