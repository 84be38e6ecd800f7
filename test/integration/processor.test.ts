import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { Processor } from "@flash/functions/queue/processor";
import { Fulfilment } from "@flash/core/domain/fulfilment";
import { Buy } from "@flash/core/domain/buy";
import { sqsClient } from "@flash/core/adapters/sqs/queue";
import { dynamoClient, DynamoOrderStore } from "@flash/core/adapters/dynamodb/orders";
import { SimulatedPayments } from "@flash/core/adapters/payments/simulated";
import type { Order } from "@flash/core/domain/order";
import { lambdaContext } from "@flash/local/lambda-context";
import { QueuePoller } from "@flash/local/queue-poller";
import { freePort, startRedisServer } from "@flash/local/redis-server";
import { useLocalServices } from "../support/services";
import { uid, waitFor } from "../support/fixtures";

let services: Awaited<ReturnType<typeof useLocalServices>>;
let sqs: SQSClient;

beforeAll(async () => {
  services = await useLocalServices({ maxReceiveCount: 2, visibilityTimeoutSeconds: 1, env: { PAYMENT_DECLINE_USERS: "decliner" } });
  sqs = await sqsClient({ AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_SQS: services.resources.sqsEndpoint });
});
afterAll(async () => {
  sqs.destroy();
  await services.stop();
});

const message = (item: string, user = uid("u"), amount = 1): Order.Message => ({
  request_id: uid("r"), user_id: user, item_id: item, amount, accepted_at: new Date().toISOString(),
});

let seq = 0;
const record = (body: string, correlation = "corr-1", receives = 1): SQSRecord => ({
  messageId: `m-${++seq}`,
  receiptHandle: `h-${seq}`,
  body,
  attributes: { ApproximateReceiveCount: String(receives), SentTimestamp: "0", SenderId: "t", ApproximateFirstReceiveTimestamp: "0" },
  messageAttributes: { correlation_id: { stringValue: correlation, dataType: "String", stringListValues: [], binaryListValues: [] } },
  md5OfBody: "",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:orders",
  awsRegion: "us-east-1",
});
const handle = (...records: SQSRecord[]) => Processor.handle({ Records: records } as SQSEvent, lambdaContext("processor"));

/** Admit through the buy path's inventory step, as POST /buy would, and return the queue message. */
async function admitted(item: string, user?: string, amount = 1) {
  const m = message(item, user, amount);
  expect((await services.runtime().inventory.admit(m, uid("attempt"))).kind).toBe("admitted");
  await services.runtime().inventory.markQueued(item, m.request_id);
  return m;
}

async function loadItem(stock: number, limit = 5) {
  const item = uid("sku");
  await services.runtime().inventory.setStock(item, stock, limit);
  return item;
}

describe("processor", () => {
  it("completes an admitted order and records it", async () => {
    const item = await loadItem(5);
    const m = await admitted(item);
    expect(await handle(record(JSON.stringify(m)))).toEqual({ batchItemFailures: [] });
    expect(await services.runtime().orders.get(m.request_id)).toMatchObject({ status: "COMPLETED", user_id: m.user_id, amount: 1 });
    expect(await services.runtime().inventory.levels(item)).toMatchObject({ stock: 4, in_flight: 0, sold: 1 });
  });

  it("takes stock once when the same message is delivered twice, even in one batch", async () => {
    const item = await loadItem(5);
    const m = await admitted(item, undefined, 2);
    const body = JSON.stringify(m);
    expect(await handle(record(body), record(body))).toEqual({ batchItemFailures: [] });
    expect(await handle(record(body))).toEqual({ batchItemFailures: [] });
    expect(await services.runtime().inventory.levels(item)).toMatchObject({ stock: 3, in_flight: 0, sold: 2 });
  });

  it("repairs a crash between the Lua settlement and the DynamoDB write without selling twice", async () => {
    const item = await loadItem(5);
    const m = await admitted(item);
    // The first delivery died right after settle.lua: stock is sold, the order record was never written.
    await services.runtime().inventory.settle(m, "COMPLETED", "first");
    expect(await services.runtime().orders.get(m.request_id)).toBeUndefined();
    expect(await handle(record(JSON.stringify(m)))).toEqual({ batchItemFailures: [] });
    expect(await services.runtime().orders.get(m.request_id)).toMatchObject({ status: "COMPLETED" });
    expect(await services.runtime().inventory.levels(item)).toMatchObject({ stock: 4, in_flight: 0, sold: 1 });
  });

  it("re-takes the hold after a cache loss, and fails the order as sold out when nothing is left", async () => {
    const item = await loadItem(1);
    const lucky = message(item); // its admission was lost with the cache, so the processor reserves again
    const late = message(item);
    await handle(record(JSON.stringify(lucky)), record(JSON.stringify(late)));
    const statuses = [(await services.runtime().orders.get(lucky.request_id))!.status, (await services.runtime().orders.get(late.request_id))!.status];
    expect(statuses.sort()).toEqual(["COMPLETED", "FAILED_SOLD_OUT"]);
    expect(await services.runtime().inventory.levels(item)).toMatchObject({ stock: 0, in_flight: 0, sold: 1 });
  });

  it("ends a declined payment as FAILED_PAYMENT and refunds the stock exactly once", async () => {
    const item = await loadItem(3);
    const m = await admitted(item, "decliner", 2);
    await handle(record(JSON.stringify(m)));
    await handle(record(JSON.stringify(m)));
    expect(await services.runtime().orders.get(m.request_id)).toMatchObject({ status: "FAILED_PAYMENT", reason: "payment declined" });
    expect(await services.runtime().inventory.levels(item)).toMatchObject({ stock: 3, in_flight: 0, sold: 0 });
  });

  it("sends an unparseable message straight to the DLQ with the reason, and processes the rest of the batch", async () => {
    const item = await loadItem(5);
    const good = await admitted(item);
    const result = await handle(record("{not json", "corr-poison"), record(JSON.stringify({ request_id: "x" })), record(JSON.stringify(good)));
    expect(result.batchItemFailures).toEqual([]);
    expect((await services.runtime().orders.get(good.request_id))?.status).toBe("COMPLETED");
    const out = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: services.resources.dlqUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"], WaitTimeSeconds: 1,
    }));
    const dead = out.Messages ?? [];
    expect(dead.map((d) => d.Body).sort()).toEqual([`{"request_id":"x"}`, "{not json"]);
    const poison = dead.find((d) => d.Body === "{not json")!;
    expect(poison.MessageAttributes?.failure_reason?.StringValue).toMatch(/unparseable message: body is not JSON/);
    expect(poison.MessageAttributes?.correlation_id?.StringValue).toBe("corr-poison");
  });

  it("returns a record as a batch item failure when the payment service is unreachable, and completes it later", async () => {
    const item = await loadItem(2);
    const m = await admitted(item);
    const down = { ...services.runtime(), payments: new SimulatedPayments({ failureRate: 0, unavailable: true }) };
    await expect(Fulfilment.process(m, down, "c")).rejects.toMatchObject({ name: "DependencyUnavailableError", dependency: "payment" });
    expect(await services.runtime().inventory.levels(item)).toMatchObject({ stock: 1, in_flight: 1, sold: 0 });
    expect((await Fulfilment.process(m, services.runtime(), "c")).status).toBe("COMPLETED");
  });

  it("retries when DynamoDB cannot be reached (closed port), without settling twice", async () => {
    const item = await loadItem(2);
    const m = await admitted(item);
    const db = await dynamoClient({ AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${await freePort()}` });
    const closed = { ...services.runtime(), orders: new DynamoOrderStore(db, "orders", 90) };
    await expect(Fulfilment.process(m, closed, "c")).rejects.toMatchObject({ name: "DependencyUnavailableError", dependency: "orders_table" });
    db.destroy();
    expect((await Fulfilment.process(m, services.runtime(), "c")).status).toBe("COMPLETED");
    expect(await services.runtime().inventory.levels(item)).toMatchObject({ stock: 1, in_flight: 0, sold: 1 });
  });

  it("keeps concurrent batches apart: each reports only its own failures", async () => {
    const item = await loadItem(50, 50);
    const goods = await Promise.all(Array.from({ length: 8 }, () => admitted(item)));
    const bad = record(JSON.stringify(message(uid("never-loaded"))));
    const [a, b] = await Promise.all([
      handle(bad, ...goods.slice(0, 4).map((m) => record(JSON.stringify(m)))),
      handle(...goods.slice(4).map((m) => record(JSON.stringify(m)))),
    ]);
    expect(a.batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }]);
    expect(b.batchItemFailures).toEqual([]);
  });

  it("never moves a final status backwards", async () => {
    const m = message("sku");
    const orders = services.runtime().orders;
    expect(await orders.finalize(m, "COMPLETED", "c")).toBe("written");
    expect(await orders.finalize(m, "FAILED_PAYMENT", "c")).toBe("already_final");
    expect((await orders.get(m.request_id))?.status).toBe("COMPLETED");
  });

  it("reports every record of a batch as failed when Redis is down (killed server)", async () => {
    const redis = await startRedisServer();
    try {
      await services.rewire({ REDIS_URL: redis.url });
      const item = await loadItem(5);
      const a = await admitted(item);
      const b = await admitted(item);
      await redis.stop();
      const result = await handle(record(JSON.stringify(a)), record(JSON.stringify(b)));
      expect(result.batchItemFailures).toHaveLength(2);
    } finally {
      await services.rewire();
      await redis.stop();
    }
  });
});

describe("processor behind the local event source mapping", () => {
  it("retries a failing message and, after maxReceiveCount, leaves it to the queue's redrive into the DLQ", async () => {
    const unknownItem = uid("never-loaded"); // inventory missing: a processing failure, retried
    const m = message(unknownItem);
    await sqs.send(new SendMessageCommand({ QueueUrl: services.resources.queueUrl, MessageBody: JSON.stringify(m) }));
    const poller = new QueuePoller({ sqs, queueUrl: services.resources.queueUrl, handler: Processor.handle, waitTimeSeconds: 1 }).start();
    try {
      const dead = await waitFor(async () => {
        const out = await sqs.send(new ReceiveMessageCommand({
          QueueUrl: services.resources.dlqUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"], WaitTimeSeconds: 1,
        }));
        return out.Messages?.find((d) => d.Body === JSON.stringify(m));
      }, 20_000);
      expect(Number(dead.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(1);
      expect(poller.batches).toBeGreaterThanOrEqual(2); // delivered twice (maxReceiveCount 2) before the redrive
    } finally {
      await poller.stop();
    }
  });
});

describe("buy path under a queue outage", () => {
  it("answers unavailable, keeps nothing, and accepts the retry once the queue is back", async () => {
    const item = await loadItem(1, 1);
    const order = { request_id: uid("r"), user_id: uid("u"), item_id: item, amount: 1 };
    const closedPort = await sqsClient({ AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${await freePort()}` });
    const { SqsOrderQueue } = await import("@flash/core/adapters/sqs/queue");
    const deps = services.runtime();
    const broken = { ...deps, queue: new SqsOrderQueue(closedPort, services.resources.queueUrl, services.resources.dlqUrl) };
    await expect(Buy.place(order, broken, "c")).rejects.toMatchObject({ name: "DependencyUnavailableError", dependency: "queue" });
    closedPort.destroy();
    expect(await deps.inventory.levels(item)).toMatchObject({ stock: 1, in_flight: 0 });
    expect(await deps.inventory.hold(item, order.request_id)).toBeUndefined();
    expect((await Buy.place(order, deps, "c")).kind).toBe("accepted");
  });
});
