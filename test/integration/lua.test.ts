import { afterAll, describe, expect, inject, it } from "vitest";
import fc from "fast-check";
import { RedisClaims, RedisInventory, RedisInventoryAudit, RedisRateLimiter, RedisSaleStats, itemKeys } from "../../packages/core/src/adapters/redis";
import { redisClient, uid } from "../support/fixtures";

const order = (item: string, user: string, amount = 1, request_id = uid("r")) => ({ item_id: item, user_id: user, amount, request_id });

// Every script runs on a plain Redis and on a Redis Cluster: the cluster refuses any key outside the item's slot.
describe.each(["standalone", "cluster"] as const)("Lua scripts on %s Redis", (kind) => {
  const redis = redisClient(kind);
  const inventory = new RedisInventory(redis);
  const claims = new RedisClaims(redis, 3600);
  afterAll(() => redis.disconnect());

  const conserved = async (item: string, initial: number) => {
    const l = (await inventory.levels(item))!;
    expect(l.stock + l.in_flight + l.sold).toBe(initial);
    return l;
  };

  it("admits until the stock is gone, then answers sold out", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 3, 10);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => inventory.admit(order(item, `u${i}`))));
    expect(results.filter((r) => r.kind === "admitted")).toHaveLength(3);
    expect(results.filter((r) => r.kind === "sold_out")).toHaveLength(7);
    expect(await conserved(item, 3)).toMatchObject({ stock: 0, in_flight: 3, sold: 0 });
  });

  it("counts sold-out and over-limit refusals for the sale report only when the buy path asks", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 1, 1);
    await inventory.admit(order(item, "a"), { countRejections: true });
    await inventory.admit(order(item, "a"), { countRejections: true }); // stock is 0: sold out is checked before the limit
    await inventory.admit(order(item, "b"), { countRejections: true });
    await inventory.admit(order(item, "c")); // the processor's reserve step: not a buyer-facing refusal
    expect(await redis.hgetall(`item:{${item}}:rejections`)).toEqual({ sold_out: "2" });
    await inventory.setStock(item, 5, 1);
    await inventory.admit(order(item, "a"), { countRejections: true });
    expect(await redis.hgetall(`item:{${item}}:rejections`)).toEqual({ sold_out: "2", purchase_limit: "1" });
  });

  it("reports an item that was never loaded", async () => {
    expect(await inventory.admit(order(uid("nothing"), "u"))).toEqual({ kind: "unknown_item" });
  });

  it("admits one request once, however often it arrives", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 5, 5);
    const o = order(item, "u");
    const results = await Promise.all(Array.from({ length: 20 }, () => inventory.admit(o)));
    expect(results.filter((r) => r.kind === "admitted")).toHaveLength(1);
    expect(results.filter((r) => r.kind === "held")).toHaveLength(19);
    expect(await conserved(item, 5)).toMatchObject({ stock: 4, in_flight: 1 });
  });

  it("holds the per-user limit across admitted and completed units", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 100, 2);
    const first = order(item, "alice", 1);
    expect((await inventory.admit(first)).kind).toBe("admitted");
    await inventory.settle(item, first.request_id, "COMPLETED");
    expect((await inventory.admit(order(item, "alice", 1))).kind).toBe("admitted");
    expect(await inventory.admit(order(item, "alice", 1))).toEqual({ kind: "limit", held: 2, limit: 2 });
    expect((await inventory.admit(order(item, "bob", 2))).kind).toBe("admitted");
  });

  it("settles exactly once: the first outcome wins, and a failure refunds once", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 2, 5);
    const o = order(item, "u", 2);
    await inventory.admit(o);
    expect(await inventory.settle(item, o.request_id, "FAILED_PAYMENT")).toEqual({ kind: "settled", outcome: "FAILED_PAYMENT" });
    expect(await inventory.settle(item, o.request_id, "FAILED_PAYMENT")).toEqual({ kind: "settled", outcome: "FAILED_PAYMENT" });
    expect(await inventory.settle(item, o.request_id, "COMPLETED")).toEqual({ kind: "settled", outcome: "FAILED_PAYMENT" });
    expect(await conserved(item, 2)).toMatchObject({ stock: 2, in_flight: 0, sold: 0 });
    // A settled request is never admitted again, so a late redelivery cannot take stock.
    expect(await inventory.admit(o)).toEqual({ kind: "settled", outcome: "FAILED_PAYMENT" });
    expect(await redis.hget(itemKeys(item)[1]!, "u")).toBeNull();
  });

  it("cancels an admission without a trace, so the request can be admitted again", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 1, 1);
    const o = order(item, "u");
    await inventory.admit(o);
    expect(await inventory.settle(item, o.request_id, "CANCELLED")).toEqual({ kind: "settled", outcome: "CANCELLED" });
    expect(await inventory.settle(item, o.request_id, "CANCELLED")).toEqual({ kind: "no_hold" });
    expect((await inventory.admit(o)).kind).toBe("admitted");
  });

  it("records a failure even with nothing held, and refuses to complete without a hold", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 0, 1);
    expect(await inventory.settle(item, "r-none", "COMPLETED")).toEqual({ kind: "no_hold" });
    expect(await inventory.settle(item, "r-none", "FAILED_SOLD_OUT")).toEqual({ kind: "settled", outcome: "FAILED_SOLD_OUT" });
  });

  it("keeps in-flight and sold when an operator resets stock", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 10, 5);
    const o = order(item, "u", 3);
    await inventory.admit(o);
    expect(await inventory.setStock(item, 50, 4)).toEqual({ item_id: item, stock: 50, in_flight: 3, sold: 0, per_user_limit: 4 });
  });

  it("conserves stock under any interleaving of admits and settlements", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20 }),
        fc.array(
          fc.record({
            user: fc.constantFrom("a", "b", "c", "d"),
            amount: fc.integer({ min: 1, max: 3 }),
            request: fc.integer({ min: 0, max: 15 }),
            then: fc.constantFrom("COMPLETED", "FAILED_PAYMENT", "CANCELLED", "none"),
          }),
          { maxLength: 40 },
        ),
        async (initial, steps) => {
          const item = uid("prop");
          await inventory.setStock(item, initial, 4);
          await Promise.all(
            steps.map(async (s) => {
              const rid = `r${s.request}-${s.user}-${s.amount}`;
              const a = await inventory.admit({ item_id: item, user_id: s.user, amount: s.amount, request_id: rid });
              if (s.then !== "none" && (a.kind === "admitted" || a.kind === "held")) {
                await inventory.settle(item, rid, s.then as "COMPLETED");
              }
            }),
          );
          const l = await conserved(item, initial);
          expect(l.stock).toBeGreaterThanOrEqual(0);
          const held = await redis.hgetall(itemKeys(item)[1]!);
          for (const units of Object.values(held)) expect(Number(units)).toBeLessThanOrEqual(4);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("runs the operator scripts in the item's slot too: rejection counts, snapshot and reconcile repair", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 5, 2);
    const o = order(item, "u");
    await inventory.admit(o);
    await inventory.settle(item, o.request_id, "COMPLETED");
    const stats = new RedisSaleStats(redis);
    await stats.rejected(item, "duplicate");
    expect(await stats.rejections(item)).toEqual({ duplicate: 1 });

    const audit = new RedisInventoryAudit(redis);
    const state = await audit.snapshot(item);
    expect(state.levels).toMatchObject({ stock: 4, in_flight: 0, sold: 1 });
    await redis.hincrby(itemKeys(item)[0]!, "stock", 3); // drift
    const repaired = await audit.repair(item, {
      ledger_len: Object.keys(state.ledger).length, total: 5, per_user_limit: 2, completed: { u: 1 }, ledger: {}, drop_holds: [],
    });
    expect(repaired).toMatchObject({ kind: "repaired", levels: { stock: 4, in_flight: 0, sold: 1 } });
  });

  describe("idempotency claims", () => {
    it("claims once, then recognises duplicates and reuse", async () => {
      const o = order("sku", "u", 1);
      expect((await claims.claim(o, "t0")).kind).toBe("claimed");
      expect(await claims.claim(o, "t1")).toEqual({ kind: "duplicate", acceptedAt: "t0" });
      expect(await claims.claim({ ...o, amount: 2 }, "t1")).toEqual({ kind: "reused" });
      expect(await claims.claim({ ...o, user_id: "v" }, "t1")).toEqual({ kind: "reused" });
      expect(await claims.claim({ ...o, item_id: "other" }, "t1")).toEqual({ kind: "reused" });
    });

    it("shows a queued claim as a PENDING order, and forgets a released one", async () => {
      const o = order("sku", "u", 1);
      await claims.claim(o, "2026-01-01T00:00:00.000Z");
      expect(await claims.pending(o.request_id)).toBeUndefined(); // not yet on the queue
      await claims.markQueued(o.request_id);
      expect(await claims.pending(o.request_id)).toMatchObject({ status: "PENDING", user_id: "u", amount: 1 });
      await claims.release(o.request_id);
      expect((await claims.claim(o, "t")).kind).toBe("claimed");
    });

    it("lets a retry take over a claim whose buy call died before enqueueing", async () => {
      const o = order("sku", "u", 1);
      await claims.claim(o, "t0");
      await redis.hset(`req:{${o.request_id}}`, "c", Date.now() - RedisClaims.TAKEOVER_MS - 1);
      expect(await claims.claim(o, "t1")).toEqual({ kind: "claimed", acceptedAt: "t0" });
      await claims.markQueued(o.request_id);
      await redis.hset(`req:{${o.request_id}}`, "c", Date.now() - RedisClaims.TAKEOVER_MS - 1);
      expect((await claims.claim(o, "t2")).kind).toBe("duplicate");
    });
  });

  describe("sliding-window rate limit", () => {
    it("allows the maximum, refuses the next with a retry time, and recovers as the window slides", async () => {
      const limiter = new RedisRateLimiter(redis, 3, 1);
      const user = uid("user");
      const first = await limiter.hit(user);
      await new Promise((r) => setTimeout(r, 400));
      expect((await limiter.hit(user)).allowed).toBe(true);
      expect((await limiter.hit(user)).allowed).toBe(true);
      const refused = await limiter.hit(user);
      expect(first.allowed).toBe(true);
      expect(refused.allowed).toBe(false);
      if (!refused.allowed) {
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
      }
      // Sliding, not fixed: after the first hit ages out exactly one slot frees; the later two still count.
      await new Promise((r) => setTimeout(r, 700));
      expect((await limiter.hit(user)).allowed).toBe(true);
      expect((await limiter.hit(user)).allowed).toBe(false);
    });

    it("does not count refused requests", async () => {
      const limiter = new RedisRateLimiter(redis, 1, 1);
      const user = uid("user");
      await limiter.hit(user);
      for (let i = 0; i < 5; i++) expect((await limiter.hit(user)).allowed).toBe(false);
      await new Promise((r) => setTimeout(r, 1050));
      expect((await limiter.hit(user)).allowed).toBe(true);
    });
  });
});

describe("the cluster test harness", () => {
  it("refuses a script whose keys span hash slots, as ElastiCache Serverless does", async () => {
    // A plain connection to the cluster node, so that the server itself (not ioredis) judges the slots.
    const { Redis } = await import("ioredis");
    const node = new Redis(inject("redisClusterUrl"));
    try {
      await expect(node.eval("return redis.call('MGET', KEYS[1], KEYS[2])", 2, "item:{a}", "item:{a}:users")).resolves.toBeDefined();
      await expect(node.eval("return redis.call('MGET', KEYS[1], KEYS[2])", 2, "item:{a}", "item:{b}")).rejects.toThrow(/CROSSSLOT/);
    } finally {
      node.disconnect();
    }
  });
});
