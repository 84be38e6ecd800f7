import { afterAll, beforeAll, expect, it } from "vitest";
import { createServer, type Server, type Socket } from "node:net";
import { sqsClient, SqsOrderQueue } from "@flash/core/adapters/sqs/queue";
import { dynamoClient, DynamoOrderStore } from "@flash/core/adapters/dynamodb/orders";
import { connectRedis } from "@flash/core/adapters/redis/client";
import { RedisProbe } from "@flash/core/adapters/redis/scripts";

// A server that accepts connections and never answers: the failure a timeout exists for. Without an enforced
// timeout each of these calls would wait for ever.
let silent: Server;
let endpoint: string;
let port: number;
const sockets = new Set<Socket>();

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  port = (silent.address() as { port: number }).port;
  endpoint = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

async function elapsed(work: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  const error = await work().then(() => undefined, (e: unknown) => e);
  return { ms: performance.now() - started, error };
}

const message = { request_id: "r-1", user_id: "u", item_id: "i", amount: 1, accepted_at: new Date().toISOString() };

it("gives up on an SQS send to a silent server within the call timeout, retries included", async () => {
  const sqs = await sqsClient({ AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_SQS: endpoint, AWS_CALL_TIMEOUT_MS: 400 });
  try {
    const queue = new SqsOrderQueue(sqs, `${endpoint}/000000000000/orders`, `${endpoint}/000000000000/orders-dlq`, 400);
    const { ms, error } = await elapsed(() => queue.enqueue(message, "c"));
    expect(error).toMatchObject({ name: "DependencyUnavailableError", dependency: "queue" });
    expect(ms).toBeGreaterThanOrEqual(350);
    expect(ms).toBeLessThan(2000);
  } finally {
    sqs.destroy();
  }
});

it("gives up on a DynamoDB read and a conditional write to a silent server within the call timeout", async () => {
  const db = await dynamoClient({ AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_DYNAMODB: endpoint, AWS_CALL_TIMEOUT_MS: 400 });
  try {
    const orders = new DynamoOrderStore(db, "orders", 1, 400);
    for (const call of [() => orders.get("r-1"), () => orders.finalize(message, "COMPLETED", "c")]) {
      const { ms, error } = await elapsed(call);
      expect(error).toMatchObject({ name: "DependencyUnavailableError", dependency: "orders_table" });
      expect(ms).toBeLessThan(2000);
    }
  } finally {
    db.destroy();
  }
});

it("gives up on a Redis command to a silent server within the command timeout", async () => {
  const redis = connectRedis({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CLUSTER: "false", REDIS_CONNECT_TIMEOUT_MS: 300, REDIS_COMMAND_TIMEOUT_MS: 300 });
  try {
    const { ms, error } = await elapsed(() => new RedisProbe(redis).check());
    expect(error).toMatchObject({ name: "DependencyUnavailableError", dependency: "redis" });
    expect(ms).toBeLessThan(1500);
    console.log(`silent Redis: gave up after ${Math.round(ms)} ms (command timeout 300 ms)`);
  } finally {
    redis.disconnect();
  }
});

it("answers 503 like the HTTP API when a handler overruns the integration timeout, and 500 when it throws", async () => {
  const { LocalGateway } = await import("@flash/local/gateway");
  const gateway = new LocalGateway(
    [
      { method: "GET", path: "/hang", handler: () => new Promise(() => undefined) },
      { method: "GET", path: "/throw", handler: async () => Promise.reject(new Error("boom")) },
    ],
    "token",
    200,
  );
  const url = await gateway.listen(0);
  try {
    const { ms, error } = await elapsed(async () => {
      const res = await fetch(`${url}/hang`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ message: "Service Unavailable" });
    });
    expect(error).toBeUndefined();
    expect(ms).toBeLessThan(1500);
    expect((await fetch(`${url}/throw`)).status).toBe(500);
  } finally {
    await gateway.close();
  }
});

it("answers a buy 503 within the Redis command timeout when Redis stops answering (SIGSTOP), not a multiple of it", async () => {
  const { startRedisServer } = await import("@flash/local/redis-server");
  const { startLocalEngine } = await import("@flash/local/engine");
  const redis = await startRedisServer();
  const engine = await startLocalEngine({ port: 0, redisUrl: redis.url, sweepIntervalMs: 0, env: { REDIS_COMMAND_TIMEOUT_MS: "500" } });
  try {
    const admin = { authorization: `Bearer ${engine.adminToken}`, "content-type": "application/json" };
    await fetch(`${engine.url}/admin/items/sku-stall`, { method: "PUT", headers: admin, body: `{"stock":5}` });
    const buy = () => fetch(`${engine.url}/buy`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ item_id: "sku-stall", user_id: "u", amount: 1, request_id: crypto.randomUUID() }) });
    expect((await buy()).status).toBe(202);
    redis.process.kill("SIGSTOP");
    try {
      const { ms, error } = await elapsed(async () => expect((await buy()).status).toBe(503));
      expect(error).toBeUndefined();
      console.log(`buy against a stopped Redis: 503 after ${Math.round(ms)} ms (command timeout 500 ms)`);
      expect(ms).toBeLessThan(500 * 1.5);
    } finally {
      redis.process.kill("SIGCONT");
    }
  } finally {
    await engine.stop();
    await redis.stop();
  }
});
