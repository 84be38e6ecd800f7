import { afterAll, beforeAll, expect, it } from "vitest";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { startRedisServer, type RedisServer } from "@flash/local/redis-server";
import { client, type Reply } from "../support/http";
import { uid, waitFor } from "../support/fixtures";

// ElastiCache Serverless is always cluster mode: the whole engine, buy to settlement, on a Redis Cluster
// through Redis.Cluster (REDIS_CLUSTER=true), where any cross-slot key would fail with CROSSSLOT.
let cluster: RedisServer;
let engine: LocalEngine;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  cluster = await startRedisServer({ cluster: true });
  // The sold-out near-cache is off: every request below reaches the door's script in the cluster.
  engine = await startLocalEngine({ port: 0, redisUrl: cluster.url, env: { REDIS_CLUSTER: "true", SOLD_OUT_CACHE_MS: "0" } });
  api = client(engine);
});
afterAll(async () => {
  await engine?.stop();
  await cluster?.stop();
});

it("sells exactly the stock to a crowd on a Redis Cluster, with duplicates and reuse recognised", async () => {
  const item = uid("drop");
  expect((await api.setStock(item, 20, 1)).status).toBe(200);
  const orders = Array.from({ length: 200 }, (_, i) => ({ user_id: `buyer-${i}`, item_id: item, amount: 1, request_id: crypto.randomUUID() }));
  const replies: Reply[] = [];
  for (let i = 0; i < orders.length; i += 25) replies.push(...(await Promise.all(orders.slice(i, i + 25).map((o) => api.buy(o)))));
  const accepted = orders.filter((_, i) => replies[i]!.status === 202);
  expect(accepted).toHaveLength(20);
  expect(replies.filter((r) => r.status === 410)).toHaveLength(180);

  expect((await api.buy(accepted[0]!)).status).toBe(409);
  expect((await api.buy({ ...accepted[0]!, amount: 2 })).status).toBe(422);

  await waitFor(async () => {
    const all = await Promise.all(accepted.map((o) => api.order(o.request_id)));
    return all.every((r) => r.body.status === "COMPLETED");
  });
  expect((await api.levels(item)).body).toMatchObject({ stock: 0, in_flight: 0, sold: 20 });
  expect((await api.health()).body).toMatchObject({ status: "ok", redis: "ok" });
});
