import { afterAll, expect, it } from "vitest";
import { Redis } from "ioredis";
import { waitFor } from "../support/fixtures";
import { assertNoOrphans, BuyLog, sleep, startRig, stopAllRigs } from "../support/faults";

afterAll(async () => {
  await stopAllRigs();
  assertNoOrphans();
});

it("12. The queue refuses connections: the breaker opens, buys are refused in milliseconds taking nothing, and it closes again", async () => {
  const rig = await startRig({
    env: { CIRCUIT_BREAKER_FAILURE_THRESHOLD: "3", CIRCUIT_BREAKER_SUCCESS_THRESHOLD: "2", CIRCUIT_BREAKER_BASE_TIMEOUT: "1" },
  });
  const redis = new Redis(rig.redis.url);
  try {
    const item = "sku-breaker";
    await rig.api.setStock(item, 10, 10);
    const log = new BuyLog(rig.engine.url);
    const buy = (n: number) => log.buy({ user_id: `u${n}`, item_id: item, amount: 1, request_id: `breaker-${n}` }, "buy");

    await rig.sqsProxy.closed();
    for (let n = 1; n <= 3; n++) expect((await buy(n)).status).toBe(503); // each tried the queue and failed
    expect((await rig.api.health()).body).toMatchObject({ circuit_breaker_state: "open" });

    const before = await redis.dbsize();
    const started = performance.now();
    const refused = await buy(4);
    const ms = performance.now() - started;
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: "unavailable", dependency: "queue" });
    expect(ms).toBeLessThan(100);
    console.log(`[faults] 12 breaker open: refused in ${ms.toFixed(1)} ms`);
    expect(await redis.dbsize()).toBe(before); // nothing written: no hold, no rate-limit entry, no tombstone
    expect(await rig.api.levels(item)).toMatchObject({ stock: 10, in_flight: 0 });

    await rig.sqsProxy.up();
    await sleep(1_100); // the open period: half-open now
    expect((await rig.api.health()).body).toMatchObject({ circuit_breaker_state: "half_open" });
    expect((await buy(5)).status).toBe(202);
    expect((await buy(6)).status).toBe(202);
    expect((await rig.api.health()).body).toMatchObject({ circuit_breaker_state: "closed" });
    await waitFor(async () => (await rig.api.levels(item))?.sold === 2, 10_000);
    for (const n of [1, 2, 3, 4]) expect((await rig.api.order(`breaker-${n}`)).status).toBe(404);
  } finally {
    redis.disconnect();
    await rig.stop();
  }
}, 60_000);
