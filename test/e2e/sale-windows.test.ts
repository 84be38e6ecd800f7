import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { client } from "../support/http";
import { uid } from "../support/fixtures";
import { runProcessor } from "../support/processor";

// Sale windows and the public item view, through the local profile's HTTP API. The processor is off until a test
// runs it, so that an order admitted inside a window can be settled after the window closed.
let engine: LocalEngine;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  engine = await startLocalEngine({ port: 0, processorConcurrency: 0, sweepIntervalMs: 0 });
  api = client(engine);
});
afterAll(() => engine?.stop());

const admin = () => ({ authorization: `Bearer ${engine.adminToken}` });
const load = (item: string, body: Record<string, unknown>) => api.call("PUT", `/admin/items/${item}`, body, admin());
const at = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
const order = (item: string) => ({ user_id: uid("u"), item_id: item, amount: 1, request_id: uid("r") });
const view = (item: string) => api.call("GET", `/items/${item}`);

const settleAll = (item: string, sold: number) => runProcessor(engine, async () => (await api.levels(item)).body.sold === sold, { timeoutMs: 15_000 });

describe("sale windows", () => {
  it("keeps the window an operator sets, and refuses one that ends before it starts, naming the field", async () => {
    const item = uid("sku");
    const starts_at = "2030-01-01T10:00:00.000Z";
    const ends_at = "2030-01-01T11:00:00.000Z";
    expect((await load(item, { stock: 5, starts_at, ends_at })).body).toMatchObject({ stock: 5, starts_at, ends_at });
    expect((await api.levels(item)).body).toMatchObject({ starts_at, ends_at });
    const bad = await load(item, { stock: 5, starts_at: ends_at, ends_at: starts_at });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: "ends_at", message: "must be later than starts_at" }]);
    expect((await load(item, { stock: 5, starts_at: "tomorrow" })).body.errors[0].field).toBe("starts_at");
    // Loading it again without a window removes the window.
    expect((await load(item, { stock: 5 })).body).not.toHaveProperty("starts_at");
  });

  it("before the start: 409 sale_not_started with starts_at and Retry-After; inside: 202; after the end: 410 sale_ended", async () => {
    const item = uid("sku");
    const starts_at = at(1_500);
    await load(item, { stock: 5, starts_at, ends_at: at(3_000) });
    const early = await api.buy(order(item));
    expect(early).toMatchObject({ status: 409, body: { error: "sale_not_started", starts_at: new Date(starts_at).toISOString() } });
    expect(Number(early.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(early.headers.get("retry-after"))).toBeLessThanOrEqual(2);

    await new Promise((r) => setTimeout(r, 1_600));
    const inside = order(item);
    expect((await api.buy(inside)).status).toBe(202);

    await new Promise((r) => setTimeout(r, 1_500));
    expect(await api.buy(order(item))).toMatchObject({ status: 410, body: { error: "sale_ended" } });
    // Admitted inside the window, settled after it closed: it completes.
    await settleAll(item, 1);
    expect((await api.order(inside.request_id)).body.status).toBe("COMPLETED");

    const report = await api.call("GET", `/admin/items/${item}/report`, undefined, admin());
    expect(report.body.rejected).toMatchObject({ sale_not_started: 1, sale_ended: 1 });
  });
});

describe("GET /items/{item_id}", () => {
  it("shows the stock left and the window, and the state: upcoming, live, sold_out, ended; cacheable for a second", async () => {
    const item = uid("sku");
    await load(item, { stock: 1, starts_at: at(800), ends_at: at(60_000) });
    const upcoming = await view(item);
    expect(upcoming.status).toBe(200);
    expect(upcoming.headers.get("cache-control")).toBe("public, max-age=1");
    expect(upcoming.body).toEqual({ item_id: item, stock_left: 1, starts_at: expect.any(String), ends_at: expect.any(String), state: "upcoming" });

    await new Promise((r) => setTimeout(r, 900));
    expect((await view(item)).body).toMatchObject({ state: "live", stock_left: 1 });
    expect((await api.buy(order(item))).status).toBe(202);
    // Never in-flight, sold or limit figures: a unit held for an order is simply not left.
    expect((await view(item)).body).toMatchObject({ state: "sold_out", stock_left: 0 });

    const ended = uid("sku");
    await load(ended, { stock: 3, ends_at: at(-1_000) });
    expect((await view(ended)).body).toEqual({ item_id: ended, stock_left: 3, starts_at: null, ends_at: expect.any(String), state: "ended" });
    const open = uid("sku");
    await load(open, { stock: 3 });
    expect((await view(open)).body).toEqual({ item_id: open, stock_left: 3, starts_at: null, ends_at: null, state: "live" });
  });

  it("answers 404 for an item not on sale and 400 naming item_id for a malformed one", async () => {
    expect(await view(uid("never"))).toMatchObject({ status: 404, body: { error: "unknown_item" } });
    expect(await view("bad%20id")).toMatchObject({ status: 400, body: { errors: [{ field: "item_id" }] } });
  });
});
