import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { startRedisServer, type RedisServer } from "@flash/local/redis-server";
import { LOCAL_CREDENTIALS } from "@flash/local/stand-ins";
import { connectRedis } from "@flash/core/adapters/redis/client";
import { itemKeys, parseLedgerEntry } from "@flash/core/adapters/redis/keys";
import { RedisInventory } from "@flash/core/adapters/redis/inventory";
import { type RedisClient } from "@flash/core/adapters/redis/scripts";
import { dynamoClient, DynamoOrderStore } from "@flash/core/adapters/dynamodb/orders";
import { sqsClient } from "@flash/core/adapters/sqs/queue";
import { runOps } from "../../scripts/ops/cli";
import { redisClient, uid, waitFor } from "../support/fixtures";
import { runProcessor } from "../support/processor";

const order = (item: string, user: string, amount = 1, request_id = uid("r")) => ({ item_id: item, user_id: user, amount, request_id });

// The inventory's side of expiry (overdue holds by the Redis clock, released through settle.lua with the order
// record's outcome), on a plain Redis and on a Redis Cluster.
describe.each(["standalone", "cluster"] as const)("reservation expiry on %s Redis", (kind) => {
  const redis = redisClient(kind);
  const inventory = new RedisInventory(redis);
  afterAll(() => redis.disconnect());
  const admitQueued = async (o: ReturnType<typeof order>) => {
    await inventory.admit(o, uid("attempt"));
    await inventory.markQueued(o.item_id, o.request_id);
  };

  it("lists only holds older than the queue's retention, and releases them like a FAILED_EXPIRED settlement", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 10, 5);
    const old = order(item, "ann", 2);
    await admitQueued(old);
    await new Promise((r) => setTimeout(r, 60));
    const fresh = order(item, "ann", 1);
    await admitQueued(fresh);

    const overdue = await inventory.overdue(item, { ttlMs: 60_000, staleMs: 60_000, retentionMs: 40, limit: 100 });
    expect(overdue).toEqual([{ request_id: old.request_id, user_id: "ann", amount: 2, admitted_ms: expect.any(Number), kind: "expired" }]);
    expect(Date.now() - overdue[0]!.admitted_ms).toBeGreaterThanOrEqual(40);
    expect(await inventory.settle(old, "FAILED_EXPIRED", "record")).toMatchObject({ kind: "settled", outcome: "FAILED_EXPIRED" });
    expect(await inventory.levels(item)).toMatchObject({ stock: 9, in_flight: 1, sold: 0 });
    const keys = itemKeys(item);
    expect(await redis.hget(keys.users, "ann")).toBe("1");
    expect(await redis.hexists(keys.holds, old.request_id)).toBe(0);
    expect(await redis.zscore(keys.heldAt, old.request_id)).toBeNull();
    expect(parseLedgerEntry((await redis.hget(keys.ledger, old.request_id))!).outcome).toBe("FAILED_EXPIRED");

    // Exactly once, and final: a late delivery can neither take stock nor complete it.
    expect(await inventory.overdue(item, { ttlMs: 60_000, staleMs: 60_000, retentionMs: 40, limit: 100 })).toEqual([]);
    expect(await inventory.reserve(old)).toEqual({ kind: "settled", outcome: "FAILED_EXPIRED" });
    expect(await inventory.settle(old, "COMPLETED", "first")).toMatchObject({ kind: "settled", outcome: "FAILED_EXPIRED" });
    expect(await inventory.levels(item)).toMatchObject({ stock: 9, in_flight: 1 });
  });

  it("lists at most `limit` per call, oldest first", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 10, 10);
    const orders = [order(item, "a"), order(item, "b"), order(item, "c")];
    for (const o of orders) {
      await admitQueued(o);
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 20));
    const options = { ttlMs: 60_000, staleMs: 60_000, retentionMs: 10, limit: 2 };
    const first = await inventory.overdue(item, options);
    expect(first.map((h) => h.request_id)).toEqual([orders[0]!.request_id, orders[1]!.request_id]);
    for (const o of orders.slice(0, 2)) await inventory.settle(o, "FAILED_EXPIRED", "record");
    expect((await inventory.overdue(item, options)).map((h) => h.request_id)).toEqual([orders[2]!.request_id]);
    await inventory.settle(orders[2]!, "FAILED_EXPIRED", "record");
    expect(await inventory.levels(item)).toMatchObject({ stock: 10, in_flight: 0 });
    expect(await redis.hlen(itemKeys(item).users)).toBe(0);
  });
});

// The sweeper end to end: the local engine's timer runs the real sweeper handler against Redis, fauxqs and dynalite.
describe("the reservation sweeper", () => {
  let engine: LocalEngine;
  let redis: RedisClient;
  let sqs: SQSClient;

  let ownRedis: RedisServer;

  beforeAll(async () => {
    // A Redis of its own: the sweeper sweeps every item on sale, and other test files share the run's Redis.
    ownRedis = await startRedisServer();
    engine = await startLocalEngine({
      port: 0,
      redisUrl: ownRedis.url,
      processorConcurrency: 0, // nobody settles: every admission waits for the sweeper
      maxReceiveCount: 2,
      sweepIntervalMs: 250,
      // Nobody settles, and the sweeper is told the queue keeps messages 1 s: every order is past delivery after that.
      // Buy calls here end in milliseconds: after 300 ms their admissions are handed to the queue's side.
      env: { RESERVATION_TTL_SECONDS: "1", QUEUE_RETENTION_SECONDS: "1", SWEEP_BATCH_SIZE: "2", ADMISSION_TAKEOVER_MS: "300" },
    });
    redis = connectRedis({ REDIS_URL: engine.redisUrl, REDIS_CLUSTER: "false", REDIS_CONNECT_TIMEOUT_MS: 1000, REDIS_COMMAND_TIMEOUT_MS: 1000 });
    sqs = await sqsClient({ AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_SQS: engine.resources.sqsEndpoint });
  });

  afterAll(async () => {
    redis?.disconnect();
    sqs?.destroy();
    await engine?.stop();
    await ownRedis?.stop();
  });

  const admin = (item: string, stock: number, limit = 2) =>
    fetch(`${engine.url}/admin/items/${item}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${engine.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ stock, per_user_limit: limit }),
    }).then((r) => r.json());
  const levels = (item: string) =>
    fetch(`${engine.url}/admin/items/${item}`, { headers: { authorization: `Bearer ${engine.adminToken}` } }).then((r) => r.json() as Promise<Record<string, number>>);
  const buy = async (item: string, user: string, amount = 1) => {
    const request_id = uid("r");
    const res = await fetch(`${engine.url}/buy`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ item_id: item, user_id: user, amount, request_id }) });
    expect(res.status).toBe(202);
    return request_id;
  };
  const get = (rid: string) => fetch(`${engine.url}/orders/${rid}`).then((r) => r.json() as Promise<Record<string, string>>);
  const depth = async (url: string) => {
    const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }))).Attributes!;
    return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible);
  };
  const env = () => ({
    API_URL: engine.url, ADMIN_TOKEN: engine.adminToken, QUEUE_URL: engine.resources.queueUrl, DLQ_URL: engine.resources.dlqUrl,
    AWS_ENDPOINT_URL_SQS: engine.resources.sqsEndpoint, AWS_REGION: "us-east-1",
  });

  /** Settle whatever is on the queue with the real processor handler, as the event source mapping would. */
  const processQueue = () =>
    runProcessor(engine, async (poller) => poller.batches > 0 && (await depth(engine.resources.queueUrl)) === 0, { timeoutMs: 10_000, sqs });

  it("expires unsettled admissions on its schedule, in batches, and records them FAILED_EXPIRED", async () => {
    const item = uid("sku");
    await admin(item, 10, 5);
    const rids = [await buy(item, "u1", 2), await buy(item, "u2"), await buy(item, "u3"), await buy(item, "u4"), await buy(item, "u5")];
    expect(await levels(item)).toMatchObject({ stock: 4, in_flight: 6 });

    // TTL 1 s, batch size 2: the timer's sweeps release all five within a few ticks.
    await waitFor(async () => (await Promise.all(rids.map(get))).every((o) => o.status === "FAILED_EXPIRED"), 5_000);
    expect(await levels(item)).toMatchObject({ stock: 10, in_flight: 0, sold: 0 });
    const first = await get(rids[0]!);
    expect(first).toMatchObject({ item_id: item, user_id: "u1", amount: 2, reason: "reservation expired before the order was settled" });
    expect(Date.parse(first.updated_at) - Date.parse(first.created_at)).toBeGreaterThanOrEqual(1000);
    expect(await redis.hlen(itemKeys(item).users)).toBe(0); // users hold nothing
    expect(await engine.sweep()).toBe(0);
  });

  it("never lets a redriven message of an expired order take stock", async () => {
    const item = uid("sku");
    await admin(item, 3);
    const rid = await buy(item, "late");
    await waitFor(async () => (await get(rid)).status === "FAILED_EXPIRED", 5_000);
    const expired = await get(rid);

    // The message was never settled: receive it until the queue's redrive policy dead-letters it.
    await waitFor(async () => {
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: engine.resources.queueUrl, VisibilityTimeout: 0, MaxNumberOfMessages: 10 }));
      return (await depth(engine.resources.dlqUrl)) >= 1;
    }, 5_000);
    const out: string[] = [];
    expect(await runOps(["redrive"], { env: env(), out: (l) => out.push(l), err: (l) => out.push(l) })).toBe(0);
    expect(out.join("\n")).toContain("redrove");

    await processQueue();
    expect(await levels(item)).toMatchObject({ stock: 3, in_flight: 0, sold: 0 });
    expect(await get(rid)).toEqual(expired); // not even rewritten
    expect(parseLedgerEntry((await redis.hget(itemKeys(item).ledger, rid))!).outcome).toBe("FAILED_EXPIRED");
  });

  it("stays correct when a sweep dies half-way: the record is written first, and the next sweep releases the hold", async () => {
    const item = uid("sku");
    await admin(item, 3);
    const rid = await buy(item, "crash");
    const accepted = await get(rid);
    // The DynamoDB half of a sweep only, as if the sweeper died before it reached Redis.
    const db = await dynamoClient({ AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_DYNAMODB: engine.resources.dynamoEndpoint });
    try {
      const orders = new DynamoOrderStore(db, engine.resources.table, 1);
      const message = { request_id: rid, item_id: item, user_id: "crash", amount: 1, accepted_at: accepted.created_at! };
      expect(await orders.finalize(message, "FAILED_EXPIRED", "sweeper")).toBe("written");
    } finally {
      db.destroy();
    }
    expect(await levels(item)).toMatchObject({ stock: 2, in_flight: 1 });

    await processQueue(); // the record is final: the processor releases the hold to match it and takes nothing
    expect((await get(rid)).status).toBe("FAILED_EXPIRED");
    await waitFor(async () => (await levels(item)).in_flight === 0, 5_000);
    expect(await levels(item)).toMatchObject({ stock: 3, in_flight: 0, sold: 0 });
  });
});

// A backlog is not an expiry: orders waiting in the queue past the reservation TTL (a stopped or throttled processor)
// keep their units, and complete once the processor catches up.
describe("the sweeper and a backlog", () => {
  let engine: LocalEngine;
  let ownRedis: RedisServer;
  let sqs: SQSClient;

  beforeAll(async () => {
    ownRedis = await startRedisServer();
    engine = await startLocalEngine({
      port: 0,
      redisUrl: ownRedis.url,
      processorConcurrency: 0, // the processor is down: messages wait in the queue
      sweepIntervalMs: 200,
      env: { RESERVATION_TTL_SECONDS: "1" }, // the queue's retention stays the default 4 days
    });
    sqs = await sqsClient({ AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_SQS: engine.resources.sqsEndpoint, credentials: LOCAL_CREDENTIALS });
  });
  afterAll(async () => {
    sqs?.destroy();
    await engine?.stop();
    await ownRedis?.stop();
  });

  it("keeps the units of orders held in the queue past the TTL, and they complete when the processor catches up", async () => {
    const admin = { authorization: `Bearer ${engine.adminToken}`, "content-type": "application/json" };
    const item = uid("sku");
    await fetch(`${engine.url}/admin/items/${item}`, { method: "PUT", headers: admin, body: JSON.stringify({ stock: 3, per_user_limit: 1 }) });
    const buy = (user: string) =>
      fetch(`${engine.url}/buy`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ item_id: item, user_id: user, amount: 1, request_id: uid("r") }) });
    const accepted: string[] = [];
    for (const user of ["ann", "bob", "cid"]) {
      const res = await buy(user);
      expect(res.status).toBe(202);
      accepted.push(((await res.json()) as { request_id: string }).request_id);
    }
    const levels = async () => (await (await fetch(`${engine.url}/admin/items/${item}`, { headers: admin })).json()) as Record<string, number>;

    // Three times the TTL, with the sweeper running every 200 ms: nothing expires, nothing is sold twice.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await engine.sweep()).toBe(0);
    expect(await levels()).toMatchObject({ stock: 0, in_flight: 3, sold: 0 });
    expect((await buy("late")).status).toBe(410);
    for (const rid of accepted) expect(((await (await fetch(`${engine.url}/orders/${rid}`)).json()) as { status: string }).status).toBe("PENDING");

    // The processor comes back and works through the backlog.
    await runProcessor(engine, async () => (await levels()).sold === 3, { timeoutMs: 10_000, sqs });
    for (const rid of accepted) expect(((await (await fetch(`${engine.url}/orders/${rid}`)).json()) as { status: string }).status).toBe("COMPLETED");
    expect(await levels()).toMatchObject({ stock: 0, in_flight: 0, sold: 3 });
  });
});
