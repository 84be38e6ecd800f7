import { afterAll, beforeAll, expect, it } from "vitest";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { client, type Reply } from "../support/http";
import { uid, waitFor } from "../support/fixtures";

let engine: LocalEngine;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  engine = await startLocalEngine({ port: 0 });
  api = client(engine);
});
afterAll(() => engine?.stop());

const STOCK = 100;
const BUYERS = 2000;
const CONCURRENCY = 50;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

it(`flash crowd: ${BUYERS} buyers, ${CONCURRENCY} at a time, for ${STOCK} units`, async () => {
  const item = uid("drop");
  await api.setStock(item, STOCK, 1);

  // Each buyer sends one order. Every tenth also double-clicks (same request_id again), and every
  // twentieth tries a second, different order at once: the per-user limit of 1 must hold.
  type Attempt = { user: string; order: { user_id: string; item_id: string; amount: number; request_id: string } };
  const attempts: Attempt[] = [];
  for (let i = 0; i < BUYERS; i++) {
    const user = `buyer-${i}`;
    const order = { user_id: user, item_id: item, amount: 1, request_id: crypto.randomUUID() };
    attempts.push({ user, order });
    if (i % 10 === 0) attempts.push({ user, order });
    if (i % 20 === 0) attempts.push({ user, order: { ...order, request_id: crypto.randomUUID() } });
  }

  const results: { attempt: Attempt; reply: Reply; ms: number }[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < attempts.length) {
        const attempt = attempts[next++]!;
        const t0 = performance.now();
        const reply = await api.buy(attempt.order);
        results.push({ attempt, reply, ms: performance.now() - t0 });
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;

  const byStatus = new Map<number, number>();
  for (const r of results) byStatus.set(r.reply.status, (byStatus.get(r.reply.status) ?? 0) + 1);
  expect([...byStatus.keys()].filter((s) => s >= 500)).toEqual([]);
  expect([...byStatus.keys()].every((s) => [202, 409, 410].includes(s))).toBe(true);

  const accepted = results.filter((r) => r.reply.status === 202);
  expect(accepted).toHaveLength(STOCK);
  // A request_id is accepted at most once, and no user got more than the limit.
  expect(new Set(accepted.map((r) => r.attempt.order.request_id)).size).toBe(STOCK);
  expect(new Set(accepted.map((r) => r.attempt.user)).size).toBe(STOCK);

  const finals = await waitFor(
    async () => {
      const orders = await Promise.all(accepted.map((r) => api.order(r.attempt.order.request_id)));
      return orders.every((o) => o.status === 200 && o.body.status !== "PENDING") ? orders.map((o) => o.body) : undefined;
    },
    30_000,
    25,
  );
  // From the first acceptance to the last settlement, as the order records tell it.
  const settleSeconds = (Math.max(...finals.map((o) => Date.parse(o.updated_at))) - Math.min(...finals.map((o) => Date.parse(o.created_at)))) / 1000;
  expect(finals.filter((o) => o.status === "COMPLETED")).toHaveLength(STOCK);
  expect((await api.levels(item)).body).toMatchObject({ stock: 0, in_flight: 0, sold: STOCK });

  // Buyers who were told sold_out or duplicate have no order at all, except the duplicates of accepted ones.
  const acceptedIds = new Set(accepted.map((r) => r.attempt.order.request_id));
  const dupes = results.filter((r) => r.reply.status === 409 && r.reply.body.error === "duplicate_request");
  for (const d of dupes) expect(acceptedIds.has(d.attempt.order.request_id)).toBe(true);

  const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
  const figures = {
    requests: results.length,
    by_status: Object.fromEntries([...byStatus].sort()),
    requests_per_second: Math.round(results.length / elapsed),
    p50_ms: +percentile(latencies, 50).toFixed(2),
    p99_ms: +percentile(latencies, 99).toFixed(2),
    orders_settled_per_second: Math.round(STOCK / settleSeconds),
  };
  console.log("flash crowd figures", JSON.stringify(figures));
});
