import { Order } from "./order";
import type { Inventory, ItemLevels, OrderHistory, SaleStats } from "./ports";

/**
 * The sale report: what was sold, what was refused and why, and how long settlement took.
 * Source (the same locally and on AWS): the order records (the table's by_item index) for outcomes and
 * settle times (created_at = accepted, updated_at = final status written), the Redis counters for stock,
 * and the per-item rejection counters the door keeps (lua/admit.lua). CloudWatch has the same counts as
 * metrics, but not locally, and not per order.
 */
export namespace SaleReport {
  /**
   * The refusals counted per item: all but a body that never named a valid item (validation_failed) and an item not
   * on sale (unknown_item), which only CloudWatch counts.
   */
  export const PER_ITEM_REASONS = Order.REJECTION_REASONS.filter((r) => r !== "validation_failed" && r !== "unknown_item");

  export interface Deps {
    inventory: Inventory;
    history: OrderHistory;
    stats: SaleStats;
  }

  export interface Timings {
    first_accepted_at?: string;
    last_settled_at?: string;
    /** When the last unit was sold, if the item is sold out. */
    sold_out_at?: string;
    /** Accepted -> final status recorded, over all final orders. */
    settle_ms: { p50: number; p95: number; p99: number; max: number };
  }

  export interface Bucket {
    start: string;
    completed: number;
    failed: number;
  }

  export interface ItemReport {
    item_id: string;
    levels?: ItemLevels;
    units_sold: number;
    orders: Record<Order.FinalStatus, number>;
    rejected: Record<string, number>;
    timings: Timings;
    /** Settled orders per time bucket (bucket_seconds wide), for the chart. */
    bucket_seconds: number;
    timeline: Bucket[];
  }

  export interface Report {
    generated_at: string;
    items: ItemReport[];
    totals: { units_sold: number; orders: Record<Order.FinalStatus, number>; rejected: Record<string, number> };
  }

  const emptyOrders = () => Object.fromEntries(Order.FINAL_STATUSES.map((s) => [s, 0])) as Record<Order.FinalStatus, number>;

  export async function forItem(itemId: string, deps: Deps): Promise<ItemReport> {
    const [levels, records, rejected] = await Promise.all([
      deps.inventory.levels(itemId),
      deps.history.byItem(itemId),
      deps.stats.rejections(itemId),
    ]);
    const final = records.filter((r) => Order.isFinal(r.status));
    const orders = emptyOrders();
    let unitsSold = 0;
    for (const r of final) {
      orders[r.status as Order.FinalStatus]++;
      if (r.status === "COMPLETED") unitsSold += r.amount;
    }
    const accepted = final.map((r) => Date.parse(r.created_at));
    const settled = final.map((r) => Date.parse(r.updated_at));
    const completedAt = final.filter((r) => r.status === "COMPLETED").map((r) => Date.parse(r.updated_at));
    const soldOut = levels && levels.stock === 0 && levels.in_flight === 0 && completedAt.length > 0;
    const durations = final.map((r) => Math.max(0, Date.parse(r.updated_at) - Date.parse(r.created_at))).sort((a, b) => a - b);
    const { bucketSeconds, timeline } = buckets(final);
    return {
      item_id: itemId,
      ...(levels ? { levels } : {}),
      units_sold: unitsSold,
      orders,
      rejected,
      timings: {
        ...(accepted.length ? { first_accepted_at: iso(least(accepted)) } : {}),
        ...(settled.length ? { last_settled_at: iso(most(settled)) } : {}),
        ...(soldOut ? { sold_out_at: iso(most(completedAt)) } : {}),
        settle_ms: { p50: pct(durations, 0.5), p95: pct(durations, 0.95), p99: pct(durations, 0.99), max: durations.at(-1) ?? 0 },
      },
      bucket_seconds: bucketSeconds,
      timeline,
    };
  }

  export function combine(items: ItemReport[], now = new Date()): Report {
    const orders = emptyOrders();
    const rejected: Record<string, number> = {};
    let unitsSold = 0;
    for (const item of items) {
      unitsSold += item.units_sold;
      for (const s of Order.FINAL_STATUSES) orders[s] += item.orders[s];
      for (const [reason, n] of Object.entries(item.rejected)) rejected[reason] = (rejected[reason] ?? 0) + n;
    }
    return { generated_at: now.toISOString(), items, totals: { units_sold: unitsSold, orders, rejected } };
  }

  const iso = (ms: number) => new Date(ms).toISOString();
  // Not Math.min(...xs): a big sale would overflow the argument list.
  const least = (xs: number[]) => xs.reduce((a, b) => (b < a ? b : a));
  const most = (xs: number[]) => xs.reduce((a, b) => (b > a ? b : a));

  /** Nearest-rank percentile of sorted values. */
  function pct(sorted: number[], p: number): number {
    if (!sorted.length) return 0;
    return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  }

  /** At most 60 buckets of a whole number of seconds, from the first to the last settlement. */
  function buckets(final: Order.Record[]): { bucketSeconds: number; timeline: Bucket[] } {
    if (!final.length) return { bucketSeconds: 1, timeline: [] };
    const times = final.map((r) => Date.parse(r.updated_at));
    const start = Math.floor(least(times) / 1000) * 1000;
    const span = most(times) - start;
    const bucketSeconds = Math.max(1, Math.ceil(span / 1000 / 60));
    const width = bucketSeconds * 1000;
    const timeline: Bucket[] = Array.from({ length: Math.floor(span / width) + 1 }, (_, i) => ({ start: iso(start + i * width), completed: 0, failed: 0 }));
    for (const r of final) {
      const b = timeline[Math.floor((Date.parse(r.updated_at) - start) / width)]!;
      if (r.status === "COMPLETED") b.completed++;
      else b.failed++;
    }
    return { bucketSeconds, timeline };
  }
}
