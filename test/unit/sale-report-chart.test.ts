import { describe, expect, it } from "vitest";
import { Resvg } from "@resvg/resvg-js";
import { SaleReport } from "@flash/core/domain/report";
import { Order } from "@flash/core/domain/order";
import { saleReportSvg, textWidth } from "../../scripts/ops/chart";

const orders = (o: Partial<Record<Order.FinalStatus, number>> = {}) =>
  Object.fromEntries(Order.FINAL_STATUSES.map((s) => [s, o[s] ?? 0])) as Record<Order.FinalStatus, number>;

/** A sale with every kind of row: big and zero counts, the longest rejection reason, an item that sold nothing. */
const report = SaleReport.combine([
  {
    item_id: "limited-edition-sneaker-2026-blue",
    levels: { item_id: "limited-edition-sneaker-2026-blue", stock: 0, in_flight: 0, sold: 500, per_user_limit: 1 },
    units_sold: 500,
    orders: orders({ COMPLETED: 500, FAILED_PAYMENT: 12 }),
    rejected: { sold_out: 184_220, idempotency_key_reused: 3, rate_limited: 9_001, duplicate_request: 77 },
    timings: { sold_out_at: "2026-11-22T18:00:04.123Z", settle_ms: { p50: 41, p95: 90, p99: 130, max: 400 } },
    bucket_seconds: 1,
    timeline: [
      { start: "2026-11-22T18:00:00.000Z", completed: 300, failed: 5 },
      { start: "2026-11-22T18:00:01.000Z", completed: 200, failed: 7 },
    ],
  },
  {
    item_id: "nothing-sold",
    levels: { item_id: "nothing-sold", stock: 10, in_flight: 0, sold: 0, per_user_limit: 1 },
    units_sold: 0,
    orders: orders(),
    rejected: {},
    timings: { settle_ms: { p50: 0, p95: 0, p99: 0, max: 0 } },
    bucket_seconds: 1,
    timeline: [],
  },
]);
const svg = saleReportSvg(report);

type Box = { what: string; x1: number; y1: number; x2: number; y2: number };
const attr = (tag: string, name: string) => tag.match(new RegExp(`\\b${name}="([^"]*)"`))?.[1];
const unescape = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&");

/** Every text's extent (by the same per-character bound the layout uses) and every bar's. */
function boxes(): { texts: Box[]; bars: Box[] } {
  const texts = [...svg.matchAll(/<text ([^>]*)>([^<]*)<\/text>/g)].map(([, attrs, content]) => {
    const size = Number(attr(attrs!, "font-size") ?? 12);
    const w = textWidth(unescape(content!), size);
    const x = Number(attr(attrs!, "x"));
    const y = Number(attr(attrs!, "y"));
    const x1 = attr(attrs!, "text-anchor") === "end" ? x - w : x;
    return { what: `text "${unescape(content!)}"`, x1, y1: y - size, x2: x1 + w, y2: y + size * 0.25 };
  });
  const bars = [...svg.matchAll(/<rect ([^>]*class="bar"[^>]*)\/>/g)].map(([, attrs]) => {
    const [x, y, w, h] = ["x", "y", "width", "height"].map((n) => Number(attr(attrs!, n)));
    return { what: `bar at ${x},${y}`, x1: x!, y1: y!, x2: x! + w!, y2: y! + h! };
  });
  return { texts, bars };
}

const overlap = (a: Box, b: Box) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;

describe("the sale report chart", () => {
  it("renders with a maintained SVG rasterizer (resvg) at its declared size, and is not blank", () => {
    const width = Number(svg.match(/<svg[^>]* width="(\d+)"/)![1]);
    const height = Number(svg.match(/<svg[^>]* height="(\d+)"/)![1]);
    const rendered = new Resvg(svg, { fitTo: { mode: "original" } }).render();
    expect([rendered.width, rendered.height]).toEqual([width, height]);
    const pixels = rendered.pixels;
    let dark = 0;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! < 128 && pixels[i + 1]! < 128) dark++;
    expect(dark).toBeGreaterThan(1_000); // bars and text were drawn, not only the white background
  });

  it("has no text box overlapping another text or a bar", () => {
    const { texts, bars } = boxes();
    expect(bars.length).toBeGreaterThan(5);
    const clashes: string[] = [];
    texts.forEach((t, i) => {
      for (const other of texts.slice(i + 1)) if (overlap(t, other)) clashes.push(`${t.what} / ${other.what}`);
      for (const bar of bars) if (overlap(t, bar)) clashes.push(`${t.what} / ${bar.what}`);
    });
    expect(clashes).toEqual([]);
  });

  it("shows every outcome and every reason counted per item, zeros included, and – for an item with no settle time", () => {
    for (const reason of SaleReport.PER_ITEM_REASONS) expect(svg).toContain(`rejected: ${reason.replace(/_/g, " ")}`);
    expect(svg).not.toContain("rejected: unknown item"); // counted in CloudWatch only: a row here would always read 0
    expect(svg).toContain("failed: expired");
    const row = svg.slice(svg.indexOf(">nothing-sold<"));
    expect(row).not.toContain(">0 ms<");
    expect(row).toContain(">–<");
  });
});
