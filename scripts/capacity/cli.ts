/**
 * npm run capacity -- [options]: the capacity model as a readable table or JSON. See docs/capacity.md.
 * Exit codes: 0 ok, 2 usage.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { ALL_METRICS } from "@flash/core/contract/metrics";
import { getStageConfig } from "../../stacks/config";
import { ALL_FIGURES, DEPLOYED, PRICES_AS_OF, REGION, type Figure, type Status } from "./constants";
import { readBench, type BenchFigures } from "./bench";
import { runModel, type CostLine, type EcpuMode, type Inputs, type Limit, type Model } from "./model";

export const USAGE = `usage: npm run capacity -- [options]

What a flash sale costs on AWS list prices (${REGION}, as of ${PRICES_AS_OF}) and how far one account scales on
default quotas; every figure's source is in scripts/capacity/constants.ts and docs/capacity.md.

options:
  --rps <n>              POST /buy per second the crowd offers (default 20000)
  --stock <n>            units on sale, one per accepted buy (default 5000)
  --requests <n>         requests the cost table prices (default 1000000)
  --accepted-share <x>   share of those accepted, 0..1 (default stock / requests, at most 1)
  --duplicate-share <x>  share that repeat an accepted request (409), 0..1 (default 0)
  --stage <name>         stage config from stacks/config.ts (default production)
  --ecpu <mode>          ECPUs per Redis call: floor (1, the default), commands (the commands a script runs
                         inside: an upper estimate) or a number
  --bench <file>         bench results (default bench/results/latest.json; missing figures fall back)
  --bundles <file>       bundle results (default bench/results/bundles.json)
  --json                 print the whole model as JSON
  -h, --help             this text

Exit codes: 0 ok, 2 usage.`;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  cwd?: string;
}

class UsageError extends Error {}

const DEFAULT_BENCH = "bench/results/latest.json";
const DEFAULT_BUNDLES = "bench/results/bundles.json";

function positive(name: string, raw: string | undefined, fallback: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be a positive ${integer ? "integer" : "number"}, got "${raw}"`);
  }
  return n;
}

function share(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${name} must be a number from 0 to 1, got "${raw}"`);
  return n;
}

function ecpuMode(raw: string | undefined): EcpuMode {
  if (raw === undefined || raw === "floor") return { kind: "floor" };
  if (raw === "commands") return { kind: "commands" };
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n <= 0) throw new UsageError(`--ecpu must be floor, commands or a positive number, got "${raw}"`);
  return { kind: "flat", perCall: n };
}

/** The model's inputs as flags give them, and where the measurements come from. */
export interface Options extends Pick<Inputs, "rps" | "stock" | "requests" | "acceptedShare" | "duplicateShare" | "stage" | "ecpu"> {
  bench: string;
  bundles: string;
  json: boolean;
}

/** Parse and check the flags; throws UsageError with a one-line reason. undefined: --help. */
export function parseOptions(argv: string[], cwd: string): Options | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        rps: { type: "string" },
        stock: { type: "string" },
        requests: { type: "string" },
        "accepted-share": { type: "string" },
        "duplicate-share": { type: "string" },
        stage: { type: "string" },
        ecpu: { type: "string" },
        bench: { type: "string" },
        bundles: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]!);
  }
  const v = parsed.values;
  if (v.help) return undefined;
  const rps = positive("rps", v.rps, 20_000, false);
  const stockRaw = v.stock;
  let stock = 5_000;
  if (stockRaw !== undefined) {
    const n = Number(stockRaw);
    if (stockRaw.trim() === "" || !Number.isInteger(n) || n < 0) throw new UsageError(`--stock must be a whole number of units, 0 or more, got "${stockRaw}"`);
    stock = n;
  }
  const requests = positive("requests", v.requests, 1_000_000, true);
  const duplicateShare = share("duplicate-share", v["duplicate-share"]) ?? 0;
  const acceptedShare = share("accepted-share", v["accepted-share"]) ?? Math.min(1, stock / requests);
  if (acceptedShare + duplicateShare > 1 + 1e-12) throw new UsageError(`--accepted-share and --duplicate-share add up to more than 1`);
  const stage = v.stage ?? "production";
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(stage)) throw new UsageError(`--stage must be a stage name (letters, digits, hyphens), got "${stage}"`);
  const file = (flag: "bench" | "bundles", fallback: string) => {
    const given = v[flag];
    const resolved = path.resolve(cwd, given ?? fallback);
    if (given !== undefined && !fs.existsSync(resolved)) throw new UsageError(`--${flag}: no such file: ${given}`);
    return resolved;
  };
  return {
    rps,
    stock,
    requests,
    acceptedShare,
    duplicateShare,
    stage,
    ecpu: ecpuMode(v.ecpu),
    bench: file("bench", DEFAULT_BENCH),
    bundles: file("bundles", DEFAULT_BUNDLES),
    json: v.json ?? false,
  };
}

export function buildModel(o: Options, cwd: string): { model: Model; bench: BenchFigures } {
  const bench = readBench(o.bench, o.bundles);
  const rel = (p: string) => path.relative(cwd, p) || p;
  bench.file = rel(bench.file);
  for (const f of [bench.doorRefusal, bench.nearCacheRefusal, bench.accepted, bench.settlePerOrder, bench.coldImport]) {
    f.source = f.source.split(o.bench).join(rel(o.bench)).split(o.bundles).join(rel(o.bundles));
  }
  const model = runModel({
    rps: o.rps,
    stock: o.stock,
    requests: o.requests,
    acceptedShare: o.acceptedShare,
    duplicateShare: o.duplicateShare,
    stage: o.stage,
    config: getStageConfig(o.stage),
    cpu: {
      doorRefusal: bench.doorRefusal.ms,
      nearCacheRefusal: bench.nearCacheRefusal.ms,
      accepted: bench.accepted.ms,
      settlePerOrder: bench.settlePerOrder.ms,
      coldImport: bench.coldImport.ms,
    },
    ecpu: o.ecpu,
    metricNames: ALL_METRICS.length + 1, // + InventoryRemaining's series for the one item on sale
    alarms: DEPLOYED.alarms.value,
    dashboards: DEPLOYED.dashboards.value,
    endpointAzs: DEPLOYED.endpointAzs.value,
  });
  return { model, bench };
}

// ------------------------------------------------------------------------------------------------------------
// Printing
// ------------------------------------------------------------------------------------------------------------

const int = (n: number) => {
  if (!Number.isFinite(n)) return "unlimited";
  if (Math.abs(n) >= 10_000_000) return `${Math.round(n / 1_000_000).toLocaleString("en-US")}M`;
  return Math.round(n).toLocaleString("en-US");
};
const num = (n: number, digits = 2) => {
  if (!Number.isFinite(n)) return "unlimited";
  if (Math.abs(n) >= 1000) return int(n);
  if (n !== 0 && Math.abs(n) < 1) return String(Number(n.toPrecision(2)));
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
};
export function usd(x: number): string {
  if (x === 0) return "$0";
  if (x >= 100) return `$${x.toFixed(0)}`;
  if (x >= 1) return `$${x.toFixed(2)}`;
  return `$${x.toPrecision(2)}`;
}
const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)} %`;

/** Columns padded to their widest cell; numbers-looking columns right-aligned. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const right = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[-$<>~0-9.,% x]*[0-9%M]$|^unlimited$|^—$/.test(r[i] ?? "")));
  const line = (cells: string[]) => cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

function costTable(lines: CostLine[], totalUsd: number): string[] {
  return table(
    ["service", "item", "quantity", "unit", "USD"],
    [...lines.map((l) => [l.service, l.item, num(l.quantity), l.unit, usd(l.usd)]), ["total", "", "", "", usd(totalUsd)]],
  );
}

function limitRow(l: Limit): string[] {
  const row = [l.name, l.kind === "aws-quota" ? "AWS" : "stage", num(l.capacity), num(l.demand), l.unit, num(l.headroom)];
  return l.phase === "sustained" ? [...row, int(l.maxRps!), l.status] : [...row, l.status];
}

function statusCounts(): Record<Status, number> {
  const counts = { aws: 0, "third-party": 0, code: 0, config: 0, measured: 0, assumption: 0 } as Record<Status, number>;
  for (const group of Object.values(ALL_FIGURES)) for (const f of Object.values(group) as Figure[]) counts[f.status]++;
  return counts;
}

export function render(model: Model, bench: BenchFigures): string[] {
  const i = model.inputs;
  const d = model.durations;
  const out: string[] = [];
  const ecpu = i.ecpu.kind === "flat" ? `${i.ecpu.perCall} per call` : i.ecpu.kind === "commands" ? "commands inside each script (upper estimate)" : "1 per call (the floor)";
  out.push(`Flash-sale capacity model: stage "${i.stage}", ${REGION}, list prices as of ${PRICES_AS_OF}`);
  out.push(
    `Offered ${int(i.rps)} POST /buy/s, stock ${int(i.stock)}; priced ${int(i.requests)} requests: ${pct(i.acceptedShare)} accepted, ${pct(i.duplicateShare)} duplicates, the rest sold out. ECPU: ${ecpu}.`,
  );
  out.push("");
  out.push(`Headline`);
  out.push(`  Peak one account sustains on default quotas: ${int(model.peakRps)} POST /buy/s, bound by ${model.bindingQuota.name}.`);
  out.push(
    `  With stage "${i.stage}" settings: ${int(model.servedRps)}/s served of ${int(i.rps)} offered, bound by ${model.bindingOverall.name}` +
      (model.servedRps < i.rps ? `; the rest is refused or throttled.` : "."),
  );
  out.push(`  Per ${int(i.requests)} POST /buy: ${usd(model.cost.perRequestsTotal)}.  Per 1,000 settled orders: ${usd(model.cost.perThousandOrdersTotal)}.  Standing by: ${usd(model.cost.fixedMonthlyTotal)} a month.`);
  out.push(
    `  Stock sells in ${num(model.phases.acceptingSeconds)} s; settled ${num(model.phases.settleSeconds)} s after the first order (bound by ${model.settlement.binding}).`,
  );
  out.push("");
  out.push(`Durations on Lambda (arm64; CPU stretched to the function's share of a vCPU, plus assumed network waits)`);
  const path = (name: string, f: { ms: number; billed: number }, cpu: { ms: number; source: string; status: string }) => [
    name,
    cpu.ms.toFixed(3),
    f.ms.toFixed(2),
    String(f.billed),
    `${cpu.status}: ${cpu.source}`,
  ];
  out.push(
    ...table(
      ["path", "CPU ms here", "run ms", "billed ms", "CPU figure"],
      [
        path("sold out, near-cache", d.nearCacheRefusal, bench.nearCacheRefusal),
        path("sold out, door (1 Redis call)", d.doorRefusal, bench.doorRefusal),
        path("accepted (2 calls + SendMessage)", d.accepted, bench.accepted),
        path("duplicate (1 call + GetItem)", d.duplicate, bench.doorRefusal),
        path("processor batch (per order here)", d.processorBatch, bench.settlePerOrder),
        path("buy cold start (INIT)", d.buyColdStart, bench.coldImport),
      ],
    ).map((l) => `  ${l}`),
  );
  out.push("");
  out.push(
    `Near-cache: ${int(model.environments.afterStart)} buy environments after the start (of ${int(model.environments.available)} available); sold-out door calls ` +
      `${int(model.nearCache.doorCallsPerSecond)}/s if all of them take turns (${pct(model.nearCache.doorShare)} of refusals), ` +
      `${int(model.nearCache.doorCallsPerSecondSteady)}/s if only the ${int(model.environments.steady)} the served rate needs do (in flight, and at most 10 requests/s each). The model uses the first.`,
  );
  out.push("");
  const phases: [string, Limit["phase"]][] = [
    [`Sustained limits at ${int(i.rps)} offered/s (headroom = max rps / offered rps; the smallest binds)`, "sustained"],
    [`At the sale's start (headroom = capacity / demand)`, "sale-start"],
    [`While stock lasts (headroom = capacity / demand)`, "accepting"],
    [`Settlement (the queue absorbs the difference)`, "settlement"],
  ];
  for (const [title, phase] of phases) {
    out.push(title);
    const header = ["limit", "kind", "capacity", "demand", "unit", "headroom", ...(phase === "sustained" ? ["max rps"] : []), "status"];
    out.push(...table(header, model.limits.filter((l) => l.phase === phase).map(limitRow)).map((l) => `  ${l}`));
    for (const l of model.limits.filter((x) => x.phase === phase && x.note && phase !== "settlement")) out.push(`    ${l.name}: ${l.note}`);
    out.push("");
  }
  out.push(`Cost per ${int(i.requests)} POST /buy (${int(model.cost.mix.accepted)} accepted, ${int(model.cost.mix.duplicates)} duplicates, ${int(model.cost.mix.doorRefusals)} refused at the door, ${int(model.cost.mix.nearCacheRefusals)} from the near-cache)`);
  out.push(...costTable(model.cost.perRequests, model.cost.perRequestsTotal).map((l) => `  ${l}`));
  out.push("");
  out.push(`Cost per 1,000 settled orders (each one's accepted POST /buy, queue, processor, table)`);
  out.push(...costTable(model.cost.perThousandOrders, model.cost.perThousandOrdersTotal).map((l) => `  ${l}`));
  out.push("");
  out.push(`Once per sale`);
  out.push(...costTable(model.cost.perSaleStart, model.cost.perSaleStart.reduce((s, l) => s + l.usd, 0)).map((l) => `  ${l}`));
  out.push("");
  out.push(`Standing by, a month`);
  out.push(...costTable(model.cost.fixedMonthly, model.cost.fixedMonthlyTotal).map((l) => `  ${l}`));
  out.push("");
  const counts = statusCounts();
  out.push(
    `Sources: ${counts.aws} figures from AWS pages, ${counts["third-party"]} third-party quotes of AWS prices, ${counts.code} counted in the code, ${counts.measured} measured, ` +
      `${counts.assumption} assumptions (scripts/capacity/constants.ts; --json lists each).`,
  );
  out.push(`Bench: ${bench.file}${bench.when ? ` (run ${bench.when})` : ""}.`);
  const calls = Object.entries(bench.redisCounts).map(([k, v]) => `${k} ${v}`).join(", ");
  if (calls) out.push(`  Redis calls it counted: ${calls}; the model uses the counts test/e2e/round-trips.test.ts asserts (refusal 1, accepted 2, settlement 2, duplicate 1).`);
  for (const n of bench.notes) out.push(`  ${n}`);
  return out;
}

export async function runCapacity(argv: string[], io: Io): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  let options: Options | undefined;
  try {
    options = parseOptions(argv, cwd);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}`);
      io.err(USAGE);
      return 2;
    }
    throw err;
  }
  if (!options) {
    io.out(USAGE);
    return 0;
  }
  const { model, bench } = buildModel(options, cwd);
  if (options.json) {
    io.out(JSON.stringify({ model, bench, figures: ALL_FIGURES, region: REGION, pricesAsOf: PRICES_AS_OF }, (_k, v) => (v === Infinity ? "Infinity" : v), 2));
  } else {
    for (const line of render(model, bench)) io.out(line);
  }
  return 0;
}
