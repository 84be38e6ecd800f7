import { afterAll, expect, it } from "vitest";
import { Redis } from "ioredis";
import { waitFor } from "../support/fixtures";
import { assertNoOrphans, BuyLog, sleep, startExtraProcessor, startRig, stopAllRigs } from "../support/faults";

// Faults aimed at one step of a buy: a Redis that stalls on the admission itself, and bookkeeping that runs after the
// request's keys were lost. Each is a defect the first fault run found; each scenario failed on the code before the fix.

afterAll(async () => {
  await stopAllRigs();
  assertNoOrphans();
});

it("9. Redis stalls on an admission past the command timeout: the 503 leaves no hold, no order, nothing that blocks the buyer", async () => {
  const rig = await startRig({
    redisProxy: true,
    env: { REDIS_COMMAND_TIMEOUT_MS: "500", RESERVATION_TTL_SECONDS: "1", QUEUE_RETENTION_SECONDS: "1", ADMISSION_TAKEOVER_MS: "500" },
  });
  try {
    const item = "sku-stalled";
    await rig.api.setStock(item, 5, 1);
    const log = new BuyLog(rig.engine.url);
    // The admission names the item; the rate limit before it does not. It reaches Redis 1.5 s late, after the
    // buy call gave up at 500 ms: Redis still runs it then.
    await rig.redisProxy!.stallOn(`item:{${item}}`, 1_500);
    const first = await log.buy({ user_id: "ann", item_id: item, amount: 1, request_id: "stalled-1" }, "stalled");
    expect(first.status).toBe(503);
    await sleep(2_000); // Redis has run whatever the stall held back

    // Nothing of the 503 holds the buyer's unit (limit 1): a new request is accepted.
    const next = await log.buy({ user_id: "ann", item_id: item, amount: 1, request_id: "stalled-2" }, "after");
    expect(next.status, JSON.stringify(next.body)).toBe(202);
    await waitFor(async () => (await rig.api.order("stalled-2")).body?.status === "COMPLETED", 10_000);

    // And no sweep invents an order for the request that was answered 503.
    await sleep(1_200);
    await rig.engine.sweep!();
    await rig.engine.sweep!();
    expect((await rig.api.order("stalled-1")).status).toBe(404);
    expect(await rig.api.levels(item)).toMatchObject({ stock: 4, in_flight: 0, sold: 1 });
  } finally {
    await rig.stop();
  }
}, 60_000);

it("10. Bookkeeping that runs after a request's keys were lost never leaves a key without an expiry", async () => {
  const rig = await startRig();
  const redis = new Redis(rig.redis.url);
  try {
    const item = "sku-lost-keys";
    await rig.api.setStock(item, 5, 1);
    const log = new BuyLog(rig.engine.url);
    // The enqueue is slow; while it is on its way, Redis loses every key naming the request (a flush, a failover).
    await rig.sqsProxy.delay(800);
    const pending = log.buy({ user_id: "bea", item_id: item, amount: 1, request_id: "lost-keys-1" }, "slow enqueue");
    await sleep(400);
    const named = await redis.keys("*lost-keys-1*");
    if (named.length) await redis.del(...named);
    await rig.sqsProxy.up();
    expect((await pending).status).toBe(202);

    const leftovers = [];
    for (const key of [...(await redis.keys("*lost-keys-1*")), ...(await redis.keys("req:*")), ...(await redis.keys("user:*:req:*"))]) {
      if ((await redis.ttl(key)) < 0) leftovers.push(key);
    }
    expect(leftovers, "keys with no expiry").toEqual([]);
  } finally {
    redis.disconnect();
    await rig.stop();
  }
}, 60_000);

it("11. A retry takes over from a stalled first call whose enqueue then fails: the first call cannot undo the hold the 202 relies on", async () => {
  // The first call's SendMessage hangs (no client timeout to speak of); the retry comes after the takeover window
  // (10 s, the window the code before the fix had fixed) and is accepted; then the first call's send fails.
  // The processor is stopped until the first call has failed: the accepted order is still only a hold then.
  const rig = await startRig({ processorConcurrency: 0, env: { ADMISSION_TAKEOVER_MS: "10000", AWS_CALL_TIMEOUT_MS: "30000" } });
  let processor: { stop(): Promise<void> } | undefined;
  try {
    const item = "sku-takeover";
    await rig.api.setStock(item, 1, 1);
    const log = new BuyLog(rig.engine.url);
    const order = { user_id: "ann", item_id: item, amount: 1, request_id: "takeover-1" };
    await rig.sqsProxy.stallOn(order.request_id, 20_000);
    const first = log.buy(order, "first call");
    await sleep(10_500);
    const retry = await log.buy(order, "retry");
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);

    await rig.sqsProxy.closed(); // the first call's send fails for good (its retry is refused too)
    // Either answer is true: 503 (it could not enqueue), or 202 (it finds the order already on the queue: the retry's).
    expect([202, 503]).toContain((await first).status);
    await rig.sqsProxy.up();

    // The unit is the retry's: nobody else gets it, and the accepted order completes.
    expect((await log.buy({ user_id: "cid", item_id: item, amount: 1, request_id: "takeover-other" }, "next buyer")).status).toBe(410);
    processor = startExtraProcessor(rig);
    const status = await waitFor(async () => {
      const s = (await rig.api.order(order.request_id)).body?.status as string | undefined;
      return s && s !== "PENDING" ? s : undefined;
    }, 15_000);
    expect(status).toBe("COMPLETED");
    expect(await rig.api.levels(item)).toMatchObject({ stock: 0, in_flight: 0, sold: 1 });
  } finally {
    await processor?.stop();
    await rig.stop();
  }
}, 60_000);
