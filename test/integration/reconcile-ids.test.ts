import { afterAll, beforeAll, expect, inject, it } from "vitest";
import fc from "fast-check";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { connectRedis } from "@flash/core/adapters/redis/client";
import { itemKeys } from "@flash/core/adapters/redis/keys";
import { type RedisClient } from "@flash/core/adapters/redis/scripts";
import { client } from "../support/http";
import { uid, waitFor } from "../support/fixtures";

// Buyer ids are the buyers' strings, and reconcile turns them into keys: the names of JavaScript's own
// properties must count like any other id, or a repair computes `sold` short and the item oversells.
let engine: LocalEngine;
let api: ReturnType<typeof client>;
let redis: RedisClient;

beforeAll(async () => {
  engine = await startLocalEngine({ port: 0, redisUrl: inject("redisUrl"), sweepIntervalMs: 0 });
  api = client(engine);
  redis = connectRedis({ REDIS_URL: engine.redisUrl, REDIS_CLUSTER: "false", REDIS_CONNECT_TIMEOUT_MS: 1000, REDIS_COMMAND_TIMEOUT_MS: 1000 });
});
afterAll(async () => {
  redis?.disconnect();
  await engine?.stop();
});

const reconcile = (item: string, repair: boolean) =>
  api.call("POST", `/admin/items/${item}/reconcile`, { repair }, { authorization: `Bearer ${engine.adminToken}` });

const SPECIAL = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"];

it("reconciles buyers named like Object's own properties, and a repair never sells more than the stock", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(fc.oneof(fc.constantFrom(...SPECIAL), fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/)), { minLength: 1, maxLength: 4 }),
      async (users) => {
        const item = uid("ids");
        await api.setStock(item, users.length, 1);
        const rids = users.map(() => uid("r"));
        for (const [i, user] of users.entries()) {
          expect((await api.buy({ item_id: item, user_id: user, amount: 1, request_id: rids[i] })).status).toBe(202);
        }
        await waitFor(async () => (await Promise.all(rids.map((r) => api.order(r)))).every((o) => o.body.status === "COMPLETED"), 10_000);

        expect((await reconcile(item, false)).body).toMatchObject({ status: "in_sync", users_drift: [] });
        await redis.hincrby(itemKeys(item).item, "stock", 2); // drift that the repair must undo
        const repaired = await reconcile(item, true);
        expect(repaired.body).toMatchObject({ status: "repaired", repaired: { stock: 0, in_flight: 0, sold: users.length } });
        for (const user of users) expect(await redis.hget(itemKeys(item).users, user)).toBe("1");
        expect((await api.buy({ item_id: item, user_id: uid("late"), amount: 1, request_id: uid("r") })).status).toBe(410);
      },
    ),
    { numRuns: 8, examples: [[["__proto__"]], [["__proto__", "constructor", "toString"]]] },
  );
});
