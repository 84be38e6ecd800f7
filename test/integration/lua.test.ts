import { afterAll, describe, expect, inject, it } from "vitest";
import fc from "fast-check";
import { RedisInventory } from "@flash/core/adapters/redis/inventory";
import { RedisInventoryAudit } from "@flash/core/adapters/redis/audit";
import { RedisRequestRegistry } from "@flash/core/adapters/redis/requests";
import { RedisSaleStats } from "@flash/core/adapters/redis/stats";
import { itemKeys, parseLedgerEntry } from "@flash/core/adapters/redis/keys";
import { redisClient, uid } from "../support/fixtures";

const order = (item: string, user: string, amount = 1, request_id = uid("r")) => ({ item_id: item, user_id: user, amount, request_id });

// Every script runs on a plain Redis and on a Redis Cluster: the cluster refuses any key outside the item's slot.
describe.each(["standalone", "cluster"] as const)("Lua scripts on %s Redis", (kind) => {
  const redis = redisClient(kind);
  // A 50 ms takeover window, so takeovers are quick to test; a rate limit high enough not to matter here.
  const inventory = new RedisInventory(redis, { takeoverMs: 50, rateLimit: { maxRequests: 1000, windowSeconds: 60 } });
  const requests = new RedisRequestRegistry(redis, 3600);
  const OWNER = "attempt-1";
  afterAll(() => redis.disconnect());

  const conserved = async (item: string, initial: number) => {
    const l = (await inventory.levels(item))!;
    expect(l.stock + l.in_flight + l.sold).toBe(initial);
    return l;
  };

  it("admits until the stock is gone, then answers sold out", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 3, 10);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => inventory.admit(order(item, `u${i}`), OWNER)));
    expect(results.filter((r) => r.kind === "admitted")).toHaveLength(3);
    expect(results.filter((r) => r.kind === "sold_out")).toHaveLength(7);
    expect(await conserved(item, 3)).toMatchObject({ stock: 0, in_flight: 3, sold: 0 });
  });

  it("counts sold-out and over-limit refusals for the sale report only when the buy path asks", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 1, 1);
    await inventory.admit(order(item, "a"), OWNER);
    await inventory.admit(order(item, "a"), OWNER); // stock is 0: sold out is checked before the limit
    await inventory.admit(order(item, "b"), OWNER);
    await inventory.reserve(order(item, "c")); // the processor's reserve step: not a buyer-facing refusal
    expect(await redis.hgetall(`item:{${item}}:rejections`)).toEqual({ sold_out: "2" });
    await inventory.setStock(item, 5, 1);
    await inventory.admit(order(item, "a"), OWNER);
    expect(await redis.hgetall(`item:{${item}}:rejections`)).toEqual({ sold_out: "2", purchase_limit_exceeded: "1" });
  });

  it("reports an item that was never loaded", async () => {
    expect(await inventory.admit(order(uid("nothing"), "u"), OWNER)).toEqual({ kind: "unknown_item" });
  });

  it("admits one request once, however often it arrives", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 5, 5);
    const o = order(item, "u");
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => inventory.admit(o, `attempt-${i}`)));
    expect(results.filter((r) => r.kind === "admitted")).toHaveLength(1);
    expect(results.filter((r) => r.kind === "held")).toHaveLength(19);
    expect(await conserved(item, 5)).toMatchObject({ stock: 4, in_flight: 1 });
  });

  it("holds the per-user limit across admitted and completed units", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 100, 2);
    const first = order(item, "alice", 1);
    expect((await inventory.admit(first, OWNER)).kind).toBe("admitted");
    await inventory.settle(first, "COMPLETED", "first");
    expect((await inventory.admit(order(item, "alice", 1), OWNER)).kind).toBe("admitted");
    expect(await inventory.admit(order(item, "alice", 1), OWNER)).toEqual({ kind: "purchase_limit_exceeded", held: 2, limit: 2 });
    expect((await inventory.admit(order(item, "bob", 2), OWNER)).kind).toBe("admitted");
  });

  it("settles exactly once: the first outcome wins, and a failure refunds once", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 2, 5);
    const o = order(item, "u", 2);
    await inventory.admit(o, OWNER);
    expect(await inventory.settle(o, "FAILED_PAYMENT", "first")).toMatchObject({ kind: "settled", outcome: "FAILED_PAYMENT" });
    expect(await inventory.settle(o, "FAILED_PAYMENT", "first")).toMatchObject({ kind: "settled", outcome: "FAILED_PAYMENT" });
    expect(await inventory.settle(o, "COMPLETED", "first")).toMatchObject({ kind: "settled", outcome: "FAILED_PAYMENT" });
    expect(await conserved(item, 2)).toMatchObject({ stock: 2, in_flight: 0, sold: 0 });
    // A settled request is never admitted again, so a late redelivery cannot take stock.
    expect(await inventory.admit(o, OWNER)).toEqual({ kind: "settled", outcome: "FAILED_PAYMENT" });
    expect(await inventory.reserve(o)).toEqual({ kind: "settled", outcome: "FAILED_PAYMENT" });
    expect(await redis.hget(itemKeys(item).users, "u")).toBeNull();
    expect(parseLedgerEntry((await redis.hget(itemKeys(item).ledger, o.request_id))!)).toEqual({ outcome: "FAILED_PAYMENT", user_id: "u", amount: 2 });
  });

  it("lets only the attempt that admitted withdraw, and drops that attempt's late message but not a retry", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 1, 1);
    const o = order(item, "u");
    await inventory.admit(o, OWNER);
    expect(await inventory.withdraw(o, "someone-else")).toEqual({ kind: "nothing" });
    expect(await inventory.withdraw(o, OWNER)).toEqual({ kind: "withdrawn" });
    expect(await inventory.withdraw(o, OWNER)).toEqual({ kind: "nothing" });
    expect(await conserved(item, 1)).toMatchObject({ stock: 1, in_flight: 0 });
    // A message the withdrawn attempt may have sent after all takes nothing...
    expect(await inventory.reserve(o)).toEqual({ kind: "withdrawn" });
    expect(await conserved(item, 1)).toMatchObject({ stock: 1, in_flight: 0 });
    // ...while the buyer's retry is admitted afresh, and its message then finds the hold.
    expect((await inventory.admit(o, "attempt-2")).kind).toBe("admitted");
    expect((await inventory.reserve(o)).kind).toBe("held");
  });

  it("says a withdrawal came too late when the processor already has the message", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 1, 1);
    const o = order(item, "u");
    await inventory.admit(o, OWNER);
    expect((await inventory.reserve(o)).kind).toBe("held"); // the processor got the message
    expect(await inventory.withdraw(o, OWNER)).toEqual({ kind: "queued" });
    expect(await conserved(item, 1)).toMatchObject({ stock: 0, in_flight: 1 });
  });

  it("lets a retry take over an admission whose buy call died before enqueueing, and only then", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 5, 5);
    const o = order(item, "u");
    await inventory.admit(o, OWNER);
    expect((await inventory.admit(o, "attempt-2")).kind).toBe("held"); // a double click: the first call is alive
    await new Promise((r) => setTimeout(r, 80));
    expect((await inventory.admit(o, "attempt-2")).kind).toBe("taken_over");
    expect(await inventory.withdraw(o, OWNER)).toEqual({ kind: "nothing" }); // the first call woke up: not its hold any more
    await inventory.markQueued(item, o.request_id);
    await new Promise((r) => setTimeout(r, 80));
    expect((await inventory.admit(o, "attempt-3")).kind).toBe("held"); // on the queue: nobody takes it over
    expect(await conserved(item, 5)).toMatchObject({ stock: 4, in_flight: 1 });
  });

  it("refuses a request_id held or settled with another user or amount", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 5, 5);
    const o = order(item, "u", 1);
    await inventory.admit(o, OWNER);
    expect(await inventory.admit({ ...o, amount: 2 }, OWNER)).toEqual({ kind: "reused" });
    expect(await inventory.admit({ ...o, user_id: "v" }, OWNER)).toEqual({ kind: "reused" });
    await inventory.settle(o, "COMPLETED", "first");
    expect(await inventory.admit({ ...o, user_id: "v" }, OWNER)).toEqual({ kind: "reused" });
    expect(await conserved(item, 5)).toMatchObject({ stock: 4, sold: 1 });
  });

  it("records a failure even with nothing held, and refuses to complete without a hold", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 0, 1);
    const none = { item_id: item, request_id: "r-none", user_id: "u", amount: 1 };
    expect(await inventory.settle(none, "COMPLETED", "first")).toMatchObject({ kind: "no_hold" });
    expect(await inventory.settle(none, "FAILED_SOLD_OUT", "first")).toMatchObject({ kind: "settled", outcome: "FAILED_SOLD_OUT" });
  });

  it("makes Redis agree with the order record when they disagree: the record wins", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 3, 3);
    const o = order(item, "u", 2);
    await inventory.admit(o, OWNER);
    await inventory.settle(o, "COMPLETED", "first");
    expect(await conserved(item, 3)).toMatchObject({ stock: 1, sold: 2 });
    // The processor's word does not move a settled request...
    expect(await inventory.settle(o, "FAILED_EXPIRED", "first")).toMatchObject({ kind: "settled", outcome: "COMPLETED" });
    // ...the order record's does: the units go back on sale, the user's tally with them.
    expect(await inventory.settle(o, "FAILED_EXPIRED", "record")).toMatchObject({ kind: "settled", outcome: "FAILED_EXPIRED" });
    expect(await conserved(item, 3)).toMatchObject({ stock: 3, in_flight: 0, sold: 0 });
    expect(await redis.hget(itemKeys(item).users, "u")).toBeNull();
    expect(await inventory.settle(o, "COMPLETED", "record")).toMatchObject({ kind: "settled", outcome: "COMPLETED" });
    expect(await conserved(item, 3)).toMatchObject({ stock: 1, sold: 2 });
    expect(await redis.hget(itemKeys(item).users, "u")).toBe("2");
  });

  it("lists overdue holds by the Redis clock: stale ones not on the queue, expired ones that can no longer be delivered", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 5, 5);
    const unqueued = order(item, "a");
    const queued = order(item, "b");
    await inventory.admit(unqueued, OWNER);
    await inventory.admit(queued, OWNER);
    await inventory.markQueued(item, queued.request_id);
    expect(await inventory.overdue(item, { ttlMs: 60_000, staleMs: 60_000, retentionMs: 60_000, limit: 10 })).toEqual([]);
    await new Promise((r) => setTimeout(r, 30));
    // Waiting on the queue, however long past the TTL, is a backlog, not an expiry: only worth a look at its record...
    expect((await inventory.overdue(item, { ttlMs: 10, staleMs: 10, retentionMs: 60_000, limit: 10 })).map((h) => h.kind)).toEqual(["stale", "check"]);
    // ...until its message is dead-lettered and the TTL passes from then,
    await inventory.markDeadLettered(item, queued.request_id);
    expect((await inventory.overdue(item, { ttlMs: 60_000, staleMs: 10, retentionMs: 60_000, limit: 10 })).map((h) => h.kind)).toEqual(["stale"]);
    await new Promise((r) => setTimeout(r, 30));
    const overdue = await inventory.overdue(item, { ttlMs: 10, staleMs: 10, retentionMs: 60_000, limit: 10 });
    expect(overdue.map((h) => [h.request_id, h.kind])).toEqual([[unqueued.request_id, "stale"], [queued.request_id, "expired"]]);
    // ...or the hold outlives the queue's retention: no message is left to deliver it.
    const lost = order(item, "c");
    await inventory.admit(lost, OWNER);
    await inventory.markQueued(item, lost.request_id);
    await new Promise((r) => setTimeout(r, 30));
    expect((await inventory.overdue(item, { ttlMs: 60_000, staleMs: 60_000, retentionMs: 10, limit: 10 })).map((h) => h.request_id)).toContain(lost.request_id);
    await inventory.settle(lost, "FAILED_EXPIRED", "record");
    expect(await inventory.abandon(item, queued.request_id, 10)).toBe(false); // on the queue: not the sweeper's to release silently
    expect(await inventory.abandon(item, unqueued.request_id, 60_000)).toBe(false); // not stale by that measure
    expect(await inventory.abandon(item, unqueued.request_id, 10)).toBe(true);
    expect(await conserved(item, 5)).toMatchObject({ stock: 4, in_flight: 1 });
    expect(await redis.hget(itemKeys(item).ledger, unqueued.request_id)).toBeNull(); // never accepted: no outcome invented
  });

  it("keeps in-flight and sold when an operator resets stock", async () => {
    const item = uid("sku");
    await inventory.setStock(item, 10, 5);
    const o = order(item, "u", 3);
    await inventory.admit(o, OWNER);
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
              const o = { item_id: item, user_id: s.user, amount: s.amount, request_id: rid };
              const owner = uid("attempt");
              const a = await inventory.admit(o, owner);
              if (s.then === "CANCELLED") await inventory.withdraw(o, owner);
              else if (s.then !== "none" && (a.kind === "admitted" || a.kind === "held")) await inventory.settle(o, s.then, "first");
            }),
          );
          const l = await conserved(item, initial);
          expect(l.stock).toBeGreaterThanOrEqual(0);
          const held = await redis.hgetall(itemKeys(item).users);
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
    await inventory.admit(o, OWNER);
    await inventory.settle(o, "COMPLETED", "first");
    const stats = new RedisSaleStats(redis);
    await inventory.admit(o, "another-attempt"); // the door counts its own refusals, in the call that decides them
    await stats.rejected(item, "validation_failed");
    expect(await stats.rejections(item)).toEqual({ duplicate_request: 1, validation_failed: 1 });

    const audit = new RedisInventoryAudit(redis);
    const state = await audit.snapshot(item);
    expect(state.levels).toMatchObject({ stock: 4, in_flight: 0, sold: 1 });
    await redis.hincrby(itemKeys(item).item, "stock", 3); // drift
    const repaired = await audit.repair(item, {
      ledger_len: state.ledger.size, total: 5, per_user_limit: 2, completed: new Map([["u", 1]]), ledger: [], drop_holds: [],
    });
    expect(repaired).toMatchObject({ kind: "repaired", levels: { stock: 4, in_flight: 0, sold: 1 } });
  });

  it("checks the sale window at the door by the Redis clock, never at the processor; shelf reads it in the same slot", async () => {
    const item = uid("sku");
    const now = Date.now();
    await inventory.setStock(item, 5, 5, { startsAt: new Date(now + 60_000).toISOString(), endsAt: new Date(now + 120_000).toISOString() });
    const early = await inventory.admit(order(item, "u"), OWNER);
    expect(early).toMatchObject({ kind: "not_started", startsAt: new Date(now + 60_000).toISOString() });
    if (early.kind === "not_started") expect(early.retryAfterMs).toBeGreaterThan(55_000);
    expect(await inventory.reserve(order(item, "u"))).toMatchObject({ kind: "admitted" }); // a message admitted inside its window
    expect(await inventory.shelf(item)).toMatchObject({ stockLeft: 4, startsAtMs: now + 60_000, endsAtMs: now + 120_000 });

    await inventory.setStock(item, 5, 5, { endsAt: new Date(now - 1).toISOString() });
    expect(await inventory.admit(order(item, "v"), OWNER)).toEqual({ kind: "ended" });
    expect(await inventory.levels(item)).not.toHaveProperty("starts_at");
    expect(await inventory.shelf(uid("never"))).toBeUndefined();
  });

  describe("the request_id registry", () => {
    it("registers a request_id once, with its payload, and recognises reuse for another item", async () => {
      const o = order(uid("sku"), "u", 1);
      expect(await requests.register(o)).toBe("registered");
      expect(await requests.register(o)).toBe("already_registered"); // the same request again (a takeover, a retry)
      expect(await requests.register({ ...o, item_id: "other" })).toBe("reused");
      expect(await requests.register({ ...o, amount: 2 })).toBe("reused");
      expect(await requests.find(o.request_id)).toEqual(o);
      expect(await redis.ttl(`req:{${o.request_id}}`)).toBeGreaterThan(3500); // nothing is kept without an expiry
    });
  });

  describe("the door's sliding-window rate limit, per buyer and item, in admit.lua", () => {
    const limited = (maxRequests: number, windowSeconds: number) => new RedisInventory(redis, { takeoverMs: 50, rateLimit: { maxRequests, windowSeconds } });

    it("allows the maximum, refuses the next with a retry time, and recovers as the window slides", async () => {
      const door = limited(3, 1);
      const item = uid("sku");
      await inventory.setStock(item, 0, 1); // sold out: every allowed request is a 410, which still counts
      const user = uid("user");
      const hit = () => door.admit(order(item, user), uid("attempt"));
      const first = await hit();
      await new Promise((r) => setTimeout(r, 400));
      expect((await hit()).kind).toBe("sold_out");
      expect((await hit()).kind).toBe("sold_out");
      const refused = await hit();
      expect(first.kind).toBe("sold_out");
      expect(refused.kind).toBe("rate_limited");
      if (refused.kind === "rate_limited") {
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
      }
      // Sliding, not fixed: after the first hit ages out exactly one slot frees; the later two still count.
      await new Promise((r) => setTimeout(r, 700));
      expect((await hit()).kind).toBe("sold_out");
      expect((await hit()).kind).toBe("rate_limited");
      expect(await new RedisSaleStats(redis).rejections(item)).toEqual({ sold_out: 4, rate_limited: 2 });
    });

    it("does not count refused requests, counts per item, and writes no key for an item not on sale", async () => {
      const door = limited(1, 1);
      const [a, b] = [uid("sku"), uid("sku")];
      await inventory.setStock(a, 5, 5);
      await inventory.setStock(b, 5, 5);
      const user = uid("user");
      expect((await door.admit(order(a, user), "x")).kind).toBe("admitted");
      for (let i = 0; i < 5; i++) expect((await door.admit(order(a, user), "x")).kind).toBe("rate_limited");
      expect((await door.admit(order(b, user), "x")).kind).toBe("admitted"); // another item: its own window
      await new Promise((r) => setTimeout(r, 1050));
      expect((await door.admit(order(a, user), "x")).kind).toBe("admitted");
      const junk = uid("not-on-sale");
      expect((await door.admit(order(junk, user), "x")).kind).toBe("unknown_item");
      expect(await redis.keys(`item:{${junk}}*`)).toEqual([]);
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
