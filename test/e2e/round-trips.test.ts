import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { startRedisServer, type RedisServer } from "@flash/local/redis-server";
import { FaultProxy } from "../support/faults";
import { client } from "../support/http";
import { uid } from "../support/fixtures";
import { runProcessor } from "../support/processor";

// What each path costs in Redis calls, counted by the server itself (MONITOR; commands run inside a Lua script are
// reported with source "lua" and are not calls), and what a processor batch costs in network writes, counted by a
// proxy between the engine and Redis. These are counts, not timings: they hold on any machine.
let server: RedisServer;
let proxy: FaultProxy;
let engine: LocalEngine;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  server = await startRedisServer();
  proxy = await FaultProxy.start(server.url.replace("redis:", "http:"));
  engine = await startLocalEngine({
    port: 0,
    redisUrl: `redis://${proxy.address}`,
    processorConcurrency: 0, // settlement is run below, batch by batch, so it can be counted apart from the buys
    sweepIntervalMs: 0,
    env: { SOLD_OUT_CACHE_MS: "60000" }, // long, so "warm" stays warm however slow this machine is today
  });
  api = client(engine);
});
afterAll(async () => {
  await engine?.stop();
  await proxy?.stop();
  await server?.stop();
});

/** The commands the engine sent while `work` ran, by name (evalsha, set, ...). */
async function commandsDuring(work: () => Promise<void>): Promise<string[]> {
  const watcher = new Redis(server.url);
  const monitor = await watcher.monitor();
  const seen: string[] = [];
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source !== "lua") seen.push(args[0]!.toLowerCase());
  });
  try {
    await new Promise((r) => setTimeout(r, 50));
    await work();
    await new Promise((r) => setTimeout(r, 200)); // MONITOR reports after the reply: let the last lines arrive
  } finally {
    monitor.disconnect();
    watcher.disconnect();
  }
  return seen;
}

const N = 20;
const order = (item: string) => ({ user_id: uid("u"), item_id: item, amount: 1, request_id: uid("r") });

describe("Redis calls per request", () => {
  const accepted: ReturnType<typeof order>[] = [];
  let item: string;

  beforeAll(async () => {
    // Warm-up: every script once, settlement included, so that no count below includes a first EVAL after NOSCRIPT.
    const warm = uid("warm");
    await api.setStock(warm, 1, 1);
    const o = order(warm);
    await api.buy(o);
    await api.buy(o);
    await api.buy(order(warm));
    await api.call("GET", `/items/${warm}`);
    await settle(warm, 1);
    item = uid("calls");
    await api.setStock(item, N, 1);
  });

  it("sold out, near-cache cold: one call (the door's script); warm: none", async () => {
    const items = Array.from({ length: N }, () => uid("gone"));
    for (const i of items) await api.setStock(i, 0, 1);
    const cold = await commandsDuring(async () => {
      for (const i of items) expect((await api.buy(order(i))).status).toBe(410);
    });
    expect(cold).toEqual(Array(N).fill("evalsha"));
    const warm = await commandsDuring(async () => {
      for (const i of items) expect((await api.buy(order(i))).status).toBe(410);
    });
    expect(warm).toEqual([]);
  });

  it("sold out with a sale window set: still one call (the door checks the window in the same script)", async () => {
    const items = Array.from({ length: N }, () => uid("gone-window"));
    const admin = { authorization: `Bearer ${engine.adminToken}` };
    for (const i of items) await api.call("PUT", `/admin/items/${i}`, { stock: 0, starts_at: "2020-01-01T00:00:00Z", ends_at: "2099-01-01T00:00:00Z" }, admin);
    const seen = await commandsDuring(async () => {
      for (const i of items) expect((await api.buy(order(i))).status).toBe(410);
    });
    expect(seen).toEqual(Array(N).fill("evalsha"));
  });

  it("the public item view: one call", async () => {
    const seen = await commandsDuring(async () => {
      for (let i = 0; i < N; i++) expect((await api.call("GET", `/items/${item}`)).status).toBe(200);
    });
    expect(seen).toEqual(Array(N).fill("evalsha"));
  });

  it("accepted: two calls (the door's script, the request_id registry)", async () => {
    const seen = await commandsDuring(async () => {
      for (let i = 0; i < N; i++) {
        const o = order(item);
        accepted.push(o);
        expect((await api.buy(o)).status).toBe(202);
      }
    });
    expect(seen).toEqual(Array(N).fill(["evalsha", "set"]).flat());
  });

  it("duplicate of an accepted request: one call (the door's script; the status comes from DynamoDB)", async () => {
    const seen = await commandsDuring(async () => {
      for (const o of accepted) expect((await api.buy(o)).status).toBe(409);
    });
    expect(seen).toEqual(Array(N).fill("evalsha"));
  });

  it("settlement: two calls per order (reserve, settle), sent as one pipelined write per step for a whole batch", async () => {
    const chunksBefore = proxy.chunksForwarded;
    let batches = 0;
    const seen = await commandsDuring(async () => {
      batches = await settle(item, N);
    });
    // settle() polls levels through the admin route (one HMGET each): those are the test's, not settlement's.
    const settlement = seen.filter((c) => c !== "hmget");
    expect(settlement).toEqual(Array(2 * N).fill("evalsha"));
    const writes = proxy.chunksForwarded - chunksBefore - seen.filter((c) => c === "hmget").length;
    // Two steps per batch, one write each: a batch of 10 orders is 2 writes, not 20. A little slack for a reply
    // that arrived in two TCP chunks (the next step then leaves in two writes).
    expect(batches).toBeGreaterThanOrEqual(2);
    expect(writes).toBeLessThanOrEqual(batches * 3);
    console.log(`[round trips] settlement of ${N} orders in ${batches} batches: ${settlement.length} calls in ${writes} writes`);
  });
});

/** Run the processor (batches of 10, one at a time) until `sold` units of the item are sold; the number of batches. */
const settle = (item: string, sold: number) => runProcessor(engine, async () => (await api.levels(item)).body.sold === sold);
