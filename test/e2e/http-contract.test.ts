import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { startRedisServer, type RedisServer } from "@flash/local/redis-server";
import { client } from "../support/http";
import { uid, waitFor } from "../support/fixtures";

let engine: LocalEngine;
let redis: RedisServer;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  // A Redis of this file's own, so the outage test can kill it and bring it back on the same port.
  redis = await startRedisServer();
  engine = await startLocalEngine({
    port: 0,
    redisUrl: redis.url,
    visibilityTimeoutSeconds: 2,
    env: { RATE_LIMIT_MAX_REQUESTS: "25", RATE_LIMIT_WINDOW_SECONDS: "2", PAYMENT_DECLINE_USERS: "declined-user" },
  });
  api = client(engine);
});
afterAll(async () => {
  await engine?.stop();
  await redis?.stop();
});

const newOrder = (item: string, extra: Record<string, unknown> = {}) => ({ user_id: uid("u"), item_id: item, amount: 1, request_id: crypto.randomUUID(), ...extra });
const final = (requestId: string) =>
  waitFor(async () => {
    const r = await api.order(requestId);
    return r.status === 200 && r.body.status !== "PENDING" ? r.body : undefined;
  });

async function loadedItem(stock: number, limit = 1) {
  const item = uid("sku");
  expect((await api.setStock(item, stock, limit)).status).toBe(200);
  return item;
}

describe("POST /buy", () => {
  it("accepts an order with 202, a status URL and a Location header, and settles it", async () => {
    const item = await loadedItem(5);
    const order = newOrder(item);
    const r = await api.buy(order);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ request_id: order.request_id, status: "PENDING", status_url: `/orders/${order.request_id}` });
    expect(r.body.correlation_id).toBeTruthy();
    expect(r.headers.get("location")).toBe(`/orders/${order.request_id}`);
    const done = await final(order.request_id);
    expect(done).toMatchObject({ request_id: order.request_id, user_id: order.user_id, item_id: item, amount: 1, status: "COMPLETED" });
    expect(Date.parse(done.created_at)).toBeLessThanOrEqual(Date.parse(done.updated_at));
  });

  it("keeps a caller's x-correlation-id", async () => {
    const item = await loadedItem(5);
    const r = await api.buy(newOrder(item), { "x-correlation-id": "storefront-abc-123" });
    expect(r.body.correlation_id).toBe("storefront-abc-123");
  });

  it.each([
    ["malformed JSON", "{", "body"],
    ["a body that is not an object", "[]", "body"],
    ["a wrong type", { user_id: "u", item_id: "i", amount: "2", request_id: "r" }, "amount"],
    ["a missing field", { user_id: "u", item_id: "i", amount: 2 }, "request_id"],
    ["an invalid id", { user_id: "u u", item_id: "i", amount: 2, request_id: "r" }, "user_id"],
  ])("answers 400 naming the field for %s", async (_name, body, field) => {
    const r = await api.buy(body);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("validation_failed");
    expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(r.body.correlation_id).toBeTruthy();
  });

  it("names the request on every reply with an x-correlation-id header, errors included", async () => {
    const item = await loadedItem(1);
    const given = { "x-correlation-id": "storefront-xyz" };
    const replies = [
      await api.buy(newOrder(item), given), // 202
      await api.buy(newOrder(item), given), // 410
      await api.buy({ amount: "x" }, given), // 400
      await api.call("GET", "/buy", undefined, given), // 405
      await api.call("GET", `/items/${item}`, undefined, given),
      await api.call("GET", "/health", undefined, given),
    ];
    expect(replies.map((r) => r.status)).toEqual([202, 410, 400, 405, 200, expect.any(Number)]);
    for (const r of replies) expect(r.headers.get("x-correlation-id")).toBe("storefront-xyz");
    const generated = await api.buy({ amount: "x" });
    expect(generated.headers.get("x-correlation-id")).toBe(generated.body.correlation_id);
  });

  it("says what is wrong with each field in one voice", async () => {
    const r = await api.buy({ user_id: "u", item_id: "i", amount: "2", request_id: 7 });
    expect(r.body.errors).toEqual([
      { field: "amount", message: "must be a number" },
      { field: "request_id", message: "must be a string" },
    ]);
    expect((await api.buy({ user_id: "u", item_id: "i", amount: 0, request_id: "r" })).body.errors).toEqual([{ field: "amount", message: "must be at least 1" }]);
    expect((await api.buy({ user_id: "u", item_id: "i", amount: 1.5, request_id: "r" })).body.errors).toEqual([{ field: "amount", message: "must be an integer" }]);
  });

  it("answers 405 with Allow for a wrong method on a storefront path, and 415 for a body that is not JSON", async () => {
    const wrong = await api.call("GET", "/buy");
    expect(wrong).toMatchObject({ status: 405, body: { error: "method_not_allowed" } });
    expect(wrong.headers.get("allow")).toBe("POST");
    expect((await api.call("DELETE", "/orders/r-1")).headers.get("allow")).toBe("GET");
    const form = await fetch(`${engine.url}/buy`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "user_id=u" });
    expect(form.status).toBe(415);
    expect(await form.json()).toMatchObject({ error: "unsupported_media_type", message: "send the body as application/json" });
  });

  it("gives every refusal a message a person can read", async () => {
    const item = await loadedItem(5, 1);
    const first = newOrder(item);
    await api.buy(first);
    expect((await api.buy({ ...newOrder(item), user_id: first.user_id })).body.message).toBe(`at most 1 of ${item} per buyer, and you hold or bought 1`);
    const gone = await loadedItem(0);
    expect((await api.buy(newOrder(gone))).body.message).toBe(`${gone} is sold out: fewer than 1 left`);
    expect((await api.buy(newOrder(uid("never")))).body.message).toMatch(/is not on sale$/);
  });

  it("ignores unknown fields such as __proto__", async () => {
    const item = await loadedItem(5);
    const order = newOrder(item);
    const raw = JSON.stringify(order).replace(/}$/, `,"__proto__":{"admin":true},"constructor":{"x":1},"coupon":"FREE"}`);
    expect((await api.buy(raw)).status).toBe(202);
  });

  it("answers 413 for a body over 16 KiB", async () => {
    const r = await api.buy({ ...newOrder("sku"), padding: "x".repeat(17 * 1024) });
    expect(r.status).toBe(413);
  });

  it("answers 404 for an item whose stock was never loaded, and the retry works once it is", async () => {
    const item = uid("sku");
    const order = newOrder(item);
    expect(await api.buy(order)).toMatchObject({ status: 404, body: { error: "unknown_item" } });
    await api.setStock(item, 1);
    expect((await api.buy(order)).status).toBe(202);
  });

  it("gives exactly one 202 for twenty concurrent identical requests; the rest are 409 duplicates", async () => {
    const item = await loadedItem(10, 5);
    const order = newOrder(item);
    const replies = await Promise.all(Array.from({ length: 20 }, () => api.buy(order)));
    expect(replies.filter((r) => r.status === 202)).toHaveLength(1);
    const dups = replies.filter((r) => r.status === 409);
    expect(dups).toHaveLength(19);
    for (const d of dups) {
      expect(d.body).toMatchObject({ error: "duplicate_request", request_id: order.request_id, status_url: `/orders/${order.request_id}` });
      expect(["PENDING", "COMPLETED"]).toContain(d.body.status);
    }
    await final(order.request_id);
    expect((await api.levels(item)).body).toMatchObject({ stock: 9, in_flight: 0, sold: 1 });
    expect(await api.buy(order)).toMatchObject({ status: 409, body: { status: "COMPLETED" } });
  });

  it("answers 422 when a request_id comes back with another user, item or amount", async () => {
    const item = await loadedItem(10, 5);
    const other = await loadedItem(10, 5);
    const order = newOrder(item);
    expect((await api.buy(order)).status).toBe(202);
    expect(await api.buy({ ...order, amount: 2 })).toMatchObject({ status: 422, body: { error: "idempotency_key_reused" } });
    expect((await api.buy({ ...order, user_id: "someone-else" })).status).toBe(422);
    expect((await api.buy({ ...order, item_id: other })).status).toBe(422);
    await final(order.request_id);
    // The refused reuse on the other item left nothing behind there.
    expect((await api.levels(other)).body).toMatchObject({ stock: 10, in_flight: 0 });
  });

  it("answers 422 for a request_id reused on another item that could be bought; the item's own refusal comes first", async () => {
    const item = await loadedItem(10, 5);
    const other = await loadedItem(10, 5);
    const soldOut = await loadedItem(0, 5);
    const order = newOrder(item);
    expect((await api.buy(order)).status).toBe(202);
    expect(await api.buy({ ...order, item_id: other })).toMatchObject({ status: 422, body: { error: "idempotency_key_reused" } });
    // The door sees one item: sold out, unknown or over the limit is answered as such, and takes nothing either way.
    expect((await api.buy({ ...order, item_id: soldOut })).status).toBe(410);
    expect((await api.buy({ ...order, item_id: uid("never-loaded") })).status).toBe(404);
    await final(order.request_id);
    expect((await api.buy({ ...order, item_id: other })).status).toBe(422); // after settlement too
    expect((await api.levels(other)).body).toMatchObject({ stock: 10, in_flight: 0 });
  });

  it("answers from the sold-out near-cache for SOLD_OUT_CACHE_MS after a 410, even a retry of an accepted request", async () => {
    const item = await loadedItem(1, 5);
    const order = newOrder(item);
    expect((await api.buy(order)).status).toBe(202);
    expect((await api.buy(newOrder(item))).status).toBe(410); // from the door: now this environment remembers it
    // Within the near-cache's time a retry of the accepted request is told the item is sold out; its order stands.
    expect((await api.buy(order)).status).toBe(410);
    await final(order.request_id);
    await new Promise((r) => setTimeout(r, 300)); // past the default 250 ms: the door answers again
    expect((await api.buy(order)).status).toBe(409);
  });

  it("answers 409 purchase_limit_exceeded past the per-user limit, decided at admission", async () => {
    const item = await loadedItem(100, 2);
    const user = uid("u");
    const replies = await Promise.all(Array.from({ length: 6 }, () => api.buy(newOrder(item, { user_id: user }))));
    expect(replies.filter((r) => r.status === 202)).toHaveLength(2);
    expect(replies.filter((r) => r.status === 409 && r.body.error === "purchase_limit_exceeded")).toHaveLength(4);
  });

  it("answers 410 sold_out at once, keeping the queue to the stock", async () => {
    const item = await loadedItem(2, 5);
    const replies = await Promise.all(Array.from({ length: 30 }, () => api.buy(newOrder(item))));
    expect(replies.filter((r) => r.status === 202)).toHaveLength(2);
    expect(replies.filter((r) => r.status === 410 && r.body.error === "sold_out")).toHaveLength(28);
  });

  it("rate-limits a user with 429 and Retry-After, on a sliding window", async () => {
    const item = await loadedItem(100, 100);
    const user = uid("u");
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await api.buy(newOrder(item, { user_id: user }))).status);
    expect(statuses).toEqual(Array(25).fill(202));
    const limited = await api.buy(newOrder(item, { user_id: user }));
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Another user is not affected.
    expect((await api.buy(newOrder(item))).status).toBe(202);
  });

  it("fails a declined payment as FAILED_PAYMENT with a reason, and gives the unit back", async () => {
    const item = await loadedItem(1);
    const order = newOrder(item, { user_id: "declined-user" });
    expect((await api.buy(order)).status).toBe(202);
    expect(await final(order.request_id)).toMatchObject({ status: "FAILED_PAYMENT", reason: "payment declined" });
    expect((await api.levels(item)).body).toMatchObject({ stock: 1, in_flight: 0, sold: 0 });
  });
});

describe("GET /orders/{request_id} and GET /health", () => {
  it("answers 404 for an unknown order and 400 for an invalid id", async () => {
    expect(await api.order("no-such-order")).toMatchObject({ status: 404, body: { error: "not_found" } });
    expect((await api.order("bad id with spaces")).status).toBe(400);
  });

  it("reports every dependency", async () => {
    expect(await api.health()).toMatchObject({ status: 200, body: { status: "ok", redis: "ok", queue: "ok", orders_table: "ok" } });
  });
});

describe("admin routes", () => {
  it("need the bearer token", async () => {
    expect((await api.call("PUT", "/admin/items/sku-x", { stock: 1 })).status).toBe(401);
    expect((await api.call("GET", "/admin/items/sku-x", undefined, { authorization: "Bearer wrong" })).status).toBe(401);
  });

  it.each([
    [{ stock: -1 }, "stock"],
    [{ stock: 1.5 }, "stock"],
    [{ stock: 10, per_user_limit: 0 }, "per_user_limit"],
    [{}, "stock"],
  ])("refuse %j with 400 naming %s", async (body, field) => {
    const r = await api.call("PUT", "/admin/items/sku-x", body, { authorization: `Bearer ${engine.adminToken}` });
    expect(r.status).toBe(400);
    expect(r.body.errors[0].field).toBe(field);
  });

  it("answer 404 for the report of an item never loaded, as for the item itself", async () => {
    const admin = { authorization: `Bearer ${engine.adminToken}` };
    const missing = uid("never");
    expect(await api.call("GET", `/admin/items/${missing}/report`, undefined, admin)).toMatchObject({ status: 404, body: { error: "unknown_item", message: `no item ${missing}` } });
    expect((await api.call("GET", `/admin/items/${missing}`, undefined, admin)).status).toBe(404);
  });

  it("set and report stock, in flight and sold; per_user_limit defaults to 1", async () => {
    const item = uid("sku");
    expect(await api.setStock(item, 7)).toMatchObject({ status: 200, body: { item_id: item, stock: 7, in_flight: 0, sold: 0, per_user_limit: 1 } });
    expect((await api.levels(uid("unknown"))).status).toBe(404);
  });
});

describe("when Redis goes away", () => {
  it("answers 503 with Retry-After, records nothing, and accepts the same request once Redis is back", async () => {
    const item = await loadedItem(3);
    const order = newOrder(item);
    await redis.stop();
    const r = await api.buy(order);
    expect(r.status).toBe(503);
    expect(r.body.error).toBe("unavailable");
    expect(r.headers.get("retry-after")).toBeTruthy();
    expect((await api.health()).status).toBe(503);
    // Redis comes back empty on the same port (a restart loses data: no persistence here).
    redis = await startRedisServer({ port: redis.port });
    await waitFor(async () => (await api.health()).status === 200);
    await api.setStock(item, 3);
    expect((await api.buy(order)).status).toBe(202);
    expect((await final(order.request_id)).status).toBe("COMPLETED");
  });
});
