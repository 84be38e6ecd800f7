/**
 * Per-request CPU time from `npm run bench`'s results, read defensively: the results file has changed shape
 * (the first runs wrote `sold_out`, `accepted_orders` at the top; later runs group paths under `http`), so each
 * figure is looked up in a list of places, the first number found wins, and a missing one falls back to
 * FALLBACK_CPU_MS with the reason recorded.
 *
 * What a bench figure means here: the engine under test is one Node process (scripts/local.ts, the handlers Lambda
 * runs, behind a local HTTP gateway), loaded by 100 connections until its event loop is the bottleneck. 1000 / rps
 * is then the event-loop time one request takes: an upper bound on the handler's CPU per request, since it also
 * holds the local gateway's work and, for accepted orders, the in-process SQS and DynamoDB stand-ins.
 */
import fs from "node:fs";
import { FALLBACK_CPU_MS, type Figure } from "./constants";

export interface CpuFigure {
  /** ms of CPU per request (per order for settlement) on the bench machine. */
  ms: number;
  /** Where it came from: "bench/results/latest.json: http.sold_out_cold.requests_per_second = 6906", or the fallback. */
  source: string;
  status: "measured" | "assumption";
}

export interface BenchFigures {
  file: string;
  /** When the bench ran, if the file says. */
  when?: string;
  doorRefusal: CpuFigure;
  nearCacheRefusal: CpuFigure;
  accepted: CpuFigure;
  settlePerOrder: CpuFigure;
  coldImport: CpuFigure;
  /** Redis calls the bench counted, for comparison with REDIS_CALLS (the model uses those, asserted by tests). */
  redisCounts: Record<string, number>;
  notes: string[];
}

type Json = Record<string, unknown>;

/** The value at a dotted path, if it is a finite number. */
export function numberAt(json: unknown, dotted: string): number | undefined {
  let at: unknown = json;
  for (const key of dotted.split(".")) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Json)[key];
  }
  return typeof at === "number" && Number.isFinite(at) ? at : undefined;
}

/** The first of `paths` that holds a positive number, with its path. */
function firstPositive(json: unknown, paths: readonly string[]): { path: string; value: number } | undefined {
  for (const path of paths) {
    const value = numberAt(json, path);
    if (value !== undefined && value > 0) return { path, value };
  }
  return undefined;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

/** Where each figure is looked for, first match wins. Documented in docs/capacity.md ("Durations"). */
export const BENCH_FIELDS = {
  /** Every sold-out buy asks the door: the near-cache is off, or the run predates it (then two calls, an upper bound). */
  doorRefusal: ["http.sold_out_cold.requests_per_second", "sold_out.requests_per_second", "http.sold_out.requests_per_second"],
  /** Sold-out buys with the near-cache on; used only when the same run counted under one Redis call per request. */
  nearCacheRefusal: ["http.sold_out_warm.requests_per_second"],
  nearCacheRefusalCalls: ["redis_commands_per_request.sold_out_warm.total"],
  accepted: ["http.accepted_orders.requests_per_second", "accepted_orders.requests_per_second"],
  settlePerOrder: [
    "http.accepted_orders.orders_settled_per_second",
    "accepted_orders.orders_settled_per_second",
    "settlement_vs_dynalite.orders_settled_per_second",
  ],
  redisCounts: {
    soldOut: ["redis_commands_per_request.sold_out_cold.total", "redis_calls_per_request.sold_out"],
    acceptedBuy: ["redis_commands_per_request.accepted_buy.total"],
    settlement: ["redis_commands_per_request.settlement.total"],
    acceptedBuyAndSettlement: ["redis_calls_per_request.accepted_buy_and_settlement"],
    duplicate: ["redis_commands_per_request.duplicate.total", "redis_calls_per_request.duplicate"],
  },
} as const;

const fallback = (f: Figure, why: string): CpuFigure => ({ ms: f.value, source: `${why}; assumed ${f.value} ms (FALLBACK_CPU_MS)`, status: "assumption" });

/** Read the bench's latest.json and bundles.json (either may be missing or of an older shape). */
export function readBench(latestFile: string, bundlesFile: string): BenchFigures {
  const latest = readJson(latestFile);
  const bundles = readJson(bundlesFile);
  const notes: string[] = [];
  if (latest === undefined) notes.push(`${latestFile}: missing or not JSON; every duration uses its fallback`);

  const perRequest = (paths: readonly string[], fb: Figure, what: string): CpuFigure => {
    const hit = firstPositive(latest, paths);
    if (!hit) return fallback(fb, `${latestFile}: no ${what} figure (looked at ${paths.join(", ")})`);
    return { ms: 1000 / hit.value, source: `${latestFile}: ${hit.path} = ${hit.value} (1000 / that)`, status: "measured" };
  };

  const doorRefusal = perRequest(BENCH_FIELDS.doorRefusal, FALLBACK_CPU_MS.doorRefusal, "sold-out");
  let nearCacheRefusal: CpuFigure;
  const warm = firstPositive(latest, BENCH_FIELDS.nearCacheRefusal);
  const warmCalls = numberAt(latest, BENCH_FIELDS.nearCacheRefusalCalls[0]);
  if (warm && warmCalls !== undefined && warmCalls < 1) {
    nearCacheRefusal = { ms: 1000 / warm.value, source: `${latestFile}: ${warm.path} = ${warm.value} (1000 / that; ${warmCalls} Redis calls per request)`, status: "measured" };
  } else if (doorRefusal.status === "measured") {
    // A refusal from memory does less than one that asks the door: the door figure bounds it from above.
    const why = warm ? `the run's warm figure still made ${warmCalls ?? "?"} Redis calls per request (it predates the near-cache)` : "no warm near-cache figure";
    nearCacheRefusal = { ...doorRefusal, source: `${why}: the door refusal's figure, an upper bound (${doorRefusal.source})` };
  } else {
    nearCacheRefusal = fallback(FALLBACK_CPU_MS.nearCacheRefusal, `${latestFile}: no warm near-cache figure`);
  }
  const accepted = perRequest(BENCH_FIELDS.accepted, FALLBACK_CPU_MS.accepted, "accepted-orders");
  const settlePerOrder = perRequest(BENCH_FIELDS.settlePerOrder, FALLBACK_CPU_MS.settlePerOrder, "settlement");

  let coldImport: CpuFigure;
  const rows = (bundles as { rows?: unknown } | undefined)?.rows;
  const buyRow = Array.isArray(rows) ? (rows.find((r) => (r as Json)?.handler === "http/buy") as Json | undefined) : undefined;
  const importCpu = numberAt(buyRow, "cold_import_cpu_ms_median") ?? numberAt(buyRow, "cold_import_ms_median");
  if (importCpu !== undefined && importCpu > 0) {
    const field = numberAt(buyRow, "cold_import_cpu_ms_median") !== undefined ? "cold_import_cpu_ms_median" : "cold_import_ms_median";
    coldImport = { ms: importCpu, source: `${bundlesFile}: rows[handler=http/buy].${field} = ${importCpu}`, status: "measured" };
  } else {
    coldImport = fallback(FALLBACK_CPU_MS.coldImport, `${bundlesFile}: no http/buy cold import figure`);
  }

  const redisCounts: Record<string, number> = {};
  for (const [name, paths] of Object.entries(BENCH_FIELDS.redisCounts)) {
    for (const path of paths) {
      const value = numberAt(latest, path);
      if (value !== undefined) {
        redisCounts[name] = value;
        break;
      }
    }
  }
  const when = typeof (latest as Json | undefined)?.when === "string" ? ((latest as Json).when as string) : undefined;
  return { file: latestFile, when, doorRefusal, nearCacheRefusal, accepted, settlePerOrder, coldImport, redisCounts, notes };
}
