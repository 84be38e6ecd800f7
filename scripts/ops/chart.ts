import { SaleReport } from "@flash/core/domain/report";

/**
 * A width no text of this size exceeds in the generic sans-serif fonts: 0.62 em per character is above the average
 * of Helvetica, Arial and DejaVu Sans for lowercase text and digits. Layout uses it so labels never reach a bar;
 * the layout test measures with it too.
 */
export const textWidth = (s: string, fontSize: number) => Math.ceil(s.length * fontSize * 0.62);

/**
 * The sale report as a self-contained SVG a person can read: outcomes and rejections by reason, settlements
 * over time, and one row per item. Hand-written SVG: no charting library, no fonts beyond the generic ones.
 * Every outcome and every reason counted per item has its row, zeros included, so two reports line up.
 */
export function saleReportSvg(report: SaleReport.Report): string {
  const W = 960;
  const parts: string[] = [];
  const text = (x: number, y: number, s: string, attrs = "") => parts.push(`<text x="${x}" y="${y}" ${attrs}>${esc(s)}</text>`);
  const { totals } = report;
  const failed = Object.entries(totals.orders).filter(([s]) => s !== "COMPLETED").reduce((n, [, v]) => n + v, 0);
  const rejected = Object.values(totals.rejected).reduce((n, v) => n + v, 0);

  text(24, 36, "Flash sale report", `font-size="22" font-weight="bold"`);
  text(24, 58, `generated ${report.generated_at} · ${report.items.length} item(s)`, `font-size="12" fill="#555"`);
  const kpis: [string, string][] = [
    ["units sold", String(totals.units_sold)],
    ["orders completed", String(totals.orders.COMPLETED)],
    ["orders failed", String(failed)],
    ["buys rejected", String(rejected)],
  ];
  kpis.forEach(([label, value], i) => {
    const x = 24 + i * 232;
    parts.push(`<rect x="${x}" y="74" width="216" height="56" rx="6" fill="#f4f6f8" stroke="#d0d7de"/>`);
    text(x + 12, 104, value, `font-size="24" font-weight="bold"`);
    text(x + 12, 122, label, `font-size="11" fill="#555"`);
  });

  // Panel 1: outcomes and rejections, horizontal bars on one scale.
  const bars: { label: string; value: number; color: string }[] = [
    { label: "completed", value: totals.orders.COMPLETED, color: "#2da44e" },
    { label: "failed: sold out", value: totals.orders.FAILED_SOLD_OUT, color: "#cf222e" },
    { label: "failed: limit", value: totals.orders.FAILED_LIMIT, color: "#cf222e" },
    { label: "failed: payment", value: totals.orders.FAILED_PAYMENT, color: "#cf222e" },
    { label: "failed: expired", value: totals.orders.FAILED_EXPIRED, color: "#cf222e" },
    ...SaleReport.PER_ITEM_REASONS.map((reason) => ({ label: `rejected: ${reason.replace(/_/g, " ")}`, value: totals.rejected[reason] ?? 0, color: "#9a6700" })),
  ];
  const p1 = { x: 24, y: 160, w: 460 };
  text(p1.x, p1.y, "Orders by outcome, buys rejected by reason", `font-size="14" font-weight="bold"`);
  const maxBar = Math.max(1, ...bars.map((b) => b.value));
  // Bars start right of the longest label, and leave room for the longest value after them.
  const barX = p1.x + Math.max(...bars.map((b) => textWidth(b.label, 12))) + 10;
  const barRoom = p1.x + p1.w - barX - 6 - Math.max(...bars.map((b) => textWidth(String(b.value), 12)));
  bars.forEach((b, i) => {
    const y = p1.y + 16 + i * 24;
    const len = Math.round((b.value / maxBar) * barRoom);
    text(p1.x, y + 14, b.label, `font-size="12"`);
    if (b.value) parts.push(`<rect class="bar" x="${barX}" y="${y + 3}" width="${Math.max(len, 1)}" height="14" fill="${b.color}"/>`);
    text(barX + Math.max(len, 1) + 6, y + 14, String(b.value), `font-size="12" fill="#333"`);
  });
  const p1Bottom = p1.y + 16 + bars.length * 24;

  // Panel 2: settlements over time (all items), stacked completed / failed.
  const p2 = { x: 510, y: 160, w: 426, h: 200 };
  text(p2.x, p2.y, "Orders settled over time", `font-size="14" font-weight="bold"`);
  const series = mergeTimelines(report.items);
  const chartTop = p2.y + 16;
  const chartBottom = chartTop + p2.h;
  parts.push(`<line x1="${p2.x + 36}" y1="${chartBottom}" x2="${p2.x + p2.w}" y2="${chartBottom}" stroke="#888"/>`);
  parts.push(`<line x1="${p2.x + 36}" y1="${chartTop}" x2="${p2.x + 36}" y2="${chartBottom}" stroke="#888"/>`);
  if (series.buckets.length) {
    const maxY = Math.max(1, ...series.buckets.map((b) => b.completed + b.failed));
    const slot = (p2.w - 44) / series.buckets.length;
    const barW = Math.max(1, slot * 0.8);
    series.buckets.forEach((b, i) => {
      const x = p2.x + 40 + i * slot;
      const hc = (b.completed / maxY) * (p2.h - 8);
      const hf = (b.failed / maxY) * (p2.h - 8);
      parts.push(`<rect class="bar" x="${x.toFixed(1)}" y="${(chartBottom - hc).toFixed(1)}" width="${barW.toFixed(1)}" height="${hc.toFixed(1)}" fill="#2da44e"/>`);
      if (hf) parts.push(`<rect class="bar" x="${x.toFixed(1)}" y="${(chartBottom - hc - hf).toFixed(1)}" width="${barW.toFixed(1)}" height="${hf.toFixed(1)}" fill="#cf222e"/>`);
    });
    text(p2.x + 32, chartTop + 10, String(maxY), `font-size="10" text-anchor="end" fill="#555"`);
    text(p2.x + 32, chartBottom, "0", `font-size="10" text-anchor="end" fill="#555"`);
    text(p2.x + 40, chartBottom + 14, series.start.slice(11, 19), `font-size="10" fill="#555"`);
    text(p2.x + p2.w, chartBottom + 14, `+${series.buckets.length * series.bucketSeconds} s`, `font-size="10" text-anchor="end" fill="#555"`);
    text(p2.x + 40, chartBottom + 30, `${series.bucketSeconds} s per bar`, `font-size="10" fill="#555"`);
  } else {
    text(p2.x + 60, chartTop + p2.h / 2, "no settled orders yet", `font-size="12" fill="#555"`);
  }
  parts.push(`<rect x="${p2.x + 200}" y="${chartBottom + 22}" width="10" height="10" fill="#2da44e"/>`);
  text(p2.x + 214, chartBottom + 31, "completed", `font-size="10"`);
  parts.push(`<rect x="${p2.x + 280}" y="${chartBottom + 22}" width="10" height="10" fill="#cf222e"/>`);
  text(p2.x + 294, chartBottom + 31, "failed", `font-size="10"`);

  // Panel 3: one row per item.
  const p3y = Math.max(p1Bottom, chartBottom + 40) + 24;
  text(24, p3y, "Per item", `font-size="14" font-weight="bold"`);
  const head = ["item", "sold / on sale", "stock left", "in flight", "settle p50", "settle p99", "rejected", "sold out at"];
  const rows = report.items.map((item) => {
    const l = item.levels;
    const onSale = l ? l.stock + l.in_flight + l.sold : undefined;
    const settled = Object.values(item.orders).reduce((n, v) => n + v, 0);
    const ms = (v: number) => (settled ? `${v} ms` : "–"); // no settled order: no settle time, not 0 ms
    return [
      item.item_id,
      `${item.units_sold} / ${onSale ?? "?"}`,
      String(l?.stock ?? "?"),
      String(l?.in_flight ?? "?"),
      ms(item.timings.settle_ms.p50),
      ms(item.timings.settle_ms.p99),
      String(Object.values(item.rejected).reduce((n, v) => n + v, 0)),
      item.timings.sold_out_at ? item.timings.sold_out_at.slice(11, 23) : "–",
    ];
  });
  // Each column as wide as its widest cell: a long item id pushes the rest right instead of running into them.
  const cols: number[] = [];
  head.forEach((h, i) => cols.push(i === 0 ? 24 : cols[i - 1]! + 16 + Math.max(textWidth(head[i - 1]!, 11), ...rows.map((r) => textWidth(r[i - 1]!, 12)))));
  const tableRight = cols[cols.length - 1]! + Math.max(textWidth(head[head.length - 1]!, 11), ...rows.map((r) => textWidth(r[r.length - 1]!, 12)));
  head.forEach((h, i) => text(cols[i]!, p3y + 22, h, `font-size="11" font-weight="bold" fill="#555"`));
  rows.forEach((cells, r) => cells.forEach((c, i) => text(cols[i]!, p3y + 40 + r * 18, c, `font-size="12"`)));
  const H = p3y + 56 + report.items.length * 18;
  const width = Math.max(W, tableRight + 24);

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${H}" fill="#ffffff"/>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}

/** All items' timelines on one axis, re-bucketed to the coarsest bucket width. */
function mergeTimelines(items: SaleReport.ItemReport[]) {
  const points = items.flatMap((i) => i.timeline.map((b) => ({ t: Date.parse(b.start), ...b })));
  if (!points.length) return { start: "", bucketSeconds: 1, buckets: [] as { completed: number; failed: number }[] };
  const bucketSeconds = Math.max(...items.map((i) => i.bucket_seconds));
  const start = points.reduce((a, p) => Math.min(a, p.t), Infinity);
  const end = points.reduce((a, p) => Math.max(a, p.t), -Infinity);
  const width = bucketSeconds * 1000;
  const buckets = Array.from({ length: Math.floor((end - start) / width) + 1 }, () => ({ completed: 0, failed: 0 }));
  for (const p of points) {
    const b = buckets[Math.floor((p.t - start) / width)]!;
    b.completed += p.completed;
    b.failed += p.failed;
  }
  return { start: new Date(start).toISOString(), bucketSeconds, buckets };
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
