/**
 * What bench/run.ts is built from: child processes that are always stopped, the engine as `npm start` runs it,
 * autocannon, and a Redis command tally (MONITOR) that names each script and splits the stream into phases.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import { defineScripts, luaDir } from "@flash/core/adapters/redis/scripts";
import { pathOf } from "@flash/core/contract/routes";
import { freePort } from "@flash/local/redis-server";

export const TOKEN = "bench-token";
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const round = (n: number, digits = 2) => +n.toFixed(digits);

// ---------------------------------------------------------------------------------------------------------------
// Child processes: every one is tracked, stopped by whoever started it (in a finally), and killed on exit anyway.

const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

export interface Child {
  process: ChildProcess;
  /** The last few KB of its stdout and stderr, for the error message when it misbehaves. */
  output(): string;
  stop(): Promise<void>;
}

/** `node --import tsx <script> ...args` with output captured (never inherited: a pipe nobody reads would block it). */
export function launch(script: string, args: string[] = [], env: Record<string, string | undefined> = {}): Child {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let tail = "";
  const keep = (chunk: Buffer) => (tail = (tail + chunk).slice(-8000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  return { process: child, output: () => tail, stop: () => stopProcess(child) };
}

/** SIGINT (the engine drains), then SIGKILL if it has not exited within `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGINT");
  if (!(await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]))) {
    child.kill("SIGKILL");
    await exited;
  }
}

/** Resolves with the child's stdout once it contains `text`; throws if it exits first or takes longer than `ms`. */
export async function waitForOutput(child: Child, text: string, ms = 60_000): Promise<string> {
  let out = "";
  child.process.stdout!.on("data", (c: Buffer) => (out += c));
  const deadline = Date.now() + ms;
  while (!out.includes(text)) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) throw new Error(`child exited before "${text}":\n${child.output()}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" within ${ms} ms:\n${child.output()}`);
    await sleep(20);
  }
  return out;
}

/** A stack of stops, run in reverse; every one runs even when another throws. */
export class Cleanup {
  private readonly stops: { what: string; stop: () => Promise<void> }[] = [];
  add(what: string, stop: () => Promise<void>): void {
    this.stops.push({ what, stop });
  }
  async run(): Promise<void> {
    for (const { what, stop } of this.stops.splice(0).reverse()) {
      await stop().catch((err) => console.error(`bench: stopping ${what} failed:`, err));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The engine: scripts/local.ts (the `npm start` code) in its own process, so the load generator does not share its
// event loop. Always given REDIS_URL, so it starts no redis-server of its own that a kill could orphan.

export interface Engine {
  name: string;
  url: string;
  /** The `export KEY="value"` lines of its banner: the endpoints and names of what it started. */
  banner: Record<string, string>;
  stop(): Promise<void>;
}

export async function startEngine(name: string, redisUrl: string, env: Record<string, string>, cleanup: Cleanup): Promise<Engine> {
  const port = await freePort();
  const child = launch("scripts/local.ts", [], {
    PORT: String(port),
    ADMIN_TOKEN: TOKEN,
    REDIS_URL: redisUrl,
    RATE_LIMIT_MAX_REQUESTS: "1000000", // distinct buyers anyway; keeps a repeated sold-out test from being rate limited
    SWEEP_INTERVAL_SECONDS: "0", // no sweeper runs: the Redis command counts hold the requests' commands only
    POWERTOOLS_LOG_LEVEL: "ERROR",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...env,
  });
  cleanup.add(`engine ${name}`, child.stop);
  const out = await waitForOutput(child, "listening on");
  await sleep(100); // the rest of the banner is written in the same call
  const banner = Object.fromEntries([...(out + child.output()).matchAll(/^export (\w+)=(".*")$/gm)].map((m) => [m[1]!, JSON.parse(m[2]!) as string]));
  return { name, url: `http://127.0.0.1:${port}`, banner, stop: child.stop };
}

/** The storefront and operator calls the bench makes. */
export function apiOf(base: string) {
  const admin = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
  return {
    buyUrl: `${base}${pathOf("buy")}`,
    async setStock(item: string, stock: number, perUserLimit = 1) {
      const r = await fetch(`${base}${pathOf("setStock", { item_id: item })}`, { method: "PUT", headers: admin, body: JSON.stringify({ stock, per_user_limit: perUserLimit }) });
      if (r.status !== 200) throw new Error(`PUT stock ${item}: ${r.status} ${await r.text()}`);
    },
    async levels(item: string) {
      return (await (await fetch(`${base}${pathOf("getItem", { item_id: item })}`, { headers: admin })).json()) as { stock: number; in_flight: number; sold: number };
    },
    async health() {
      return (await (await fetch(`${base}${pathOf("health")}`)).json()) as Record<string, string>;
    },
    /** One buy; resolves to its status, its Retry-After and how long the answer took as the client saw it. */
    async buy(body: string, timeoutMs = 35_000) {
      const started = performance.now();
      const r = await fetch(`${base}${pathOf("buy")}`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(timeoutMs) });
      await r.arrayBuffer();
      return { status: r.status, retryAfter: r.headers.get("retry-after"), ms: performance.now() - started };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Load and its summary.

export type LoadResult = Awaited<ReturnType<typeof autocannon>>;
export interface LoadOptions {
  duration: number;
  connections: number;
  amount?: number;
  /** Requests per second over all connections (autocannon's overallRate); unset: as fast as the server answers. */
  rate?: number;
  /**
   * How often autocannon samples (ms, default 1000). A run of `amount` requests ends at the first sample after the
   * last answer, so its duration, and the rate computed from it, is rounded up to this.
   */
  sampleMs?: number;
  /** Sees each response's status and body (autocannon reads the bodies only when this is given). */
  onResponse?: (status: number, body: string) => void;
}

/**
 * autocannon from this process. It shares the machine's cores with the server under test, so the CPU it used
 * (percent of one core over the run) is kept: near 100 %, the load generator, not the server, may be the ceiling.
 */
export async function load(url: string, body: () => string, opts: LoadOptions): Promise<LoadResult & { clientCpuPercent: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({
    url,
    connections: opts.connections,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.duration }),
    ...(opts.rate ? { overallRate: opts.rate } : {}),
    ...(opts.sampleMs ? { sampleInt: opts.sampleMs } : {}),
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (req: any) => ({ ...req, body: body() }),
        ...(opts.onResponse ? { onResponse: (status: number, resBody: string) => opts.onResponse!(status, resBody) } : {}),
      },
    ],
  });
  const used = process.cpuUsage(cpu);
  return Object.assign(result, { clientCpuPercent: Math.round((used.user + used.system) / 10 / (performance.now() - started)) });
}

export type Summary = {
  requests_per_second: number;
  p50_ms: number;
  p99_ms: number;
  total: number;
  status: Record<string, number>;
  errors: number;
  /** CPU the load generator (this process) used during the run, percent of one core. */
  load_generator_cpu_percent: number;
};

export const summary = (r: LoadResult & { clientCpuPercent: number }): Summary => ({
  requests_per_second: Math.round(r.requests.total / r.duration), // total over wall time, not the per-second sample mean
  p50_ms: r.latency.p50,
  p99_ms: r.latency.p99,
  total: r.requests.total,
  status: Object.fromEntries(Object.entries((r as any).statusCodeStats ?? {}).map(([k, v]: [string, any]) => [k, Number(v.count)])),
  errors: r.errors,
  load_generator_cpu_percent: r.clientCpuPercent,
});

// ---------------------------------------------------------------------------------------------------------------
// The HTTP table, as bench/run.ts (local) and bench/remote.ts (--url) write it: the same columns in both, so their
// rows can be read side by side. A figure a run could not measure is "—".

export const mdRow = (cells: (string | number | undefined)[]) => `| ${cells.map((x) => (x === undefined ? "—" : String(x))).join(" | ")} |`;
export const fmtInt = (x: number | undefined) => (x === undefined ? "—" : x.toLocaleString("en-US"));

export const HTTP_TABLE_HEADER = [
  "| path | requests/s | p50 | p99 | ratio to bare Node | ratio to bare + 1 EVALSHA | Redis commands per request |",
  "|---|---:|---:|---:|---:|---:|---:|",
];

/** One row of the HTTP table: a load run's summary, its ratios to the floors when measured, and its Redis count. */
export const httpRow = (name: string, s: (Summary & { ratio_to_bare?: number; ratio_to_bare_evalsha?: number }) | undefined, counts: string) =>
  mdRow([name, fmtInt(s?.requests_per_second), s ? `${s.p50_ms} ms` : undefined, s ? `${s.p99_ms} ms` : undefined, s?.ratio_to_bare?.toFixed(2), s?.ratio_to_bare_evalsha?.toFixed(2), counts]);

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A default the engine's source declares without exporting it (e.g. `processorConcurrency ?? 4`), or `fallback`. */
export function sourceDefault(file: string, pattern: RegExp, fallback: number): { value: number; from: string } {
  const m = pattern.exec(readFileSync(file, "utf8"));
  return m ? { value: Number(m[1]), from: `${file}: ${m[0]}` } : { value: fallback, from: `assumed ${fallback}: ${pattern} not found in ${file}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Redis commands, counted with MONITOR. Commands a Lua script runs (source "lua") are not round trips and are not
// counted. EVAL/EVALSHA are named after the script: the shas are the ones ioredis computes for the scripts
// defineScripts() defines from the same lua/ directory the engine loads (sha1 of the final source, lib.lua in
// front), so a script the engine runs is named whether it is sent as EVALSHA or, first on a connection, as EVAL.
// admit is split by its mode (ARGV[1]: "buy" at the door, "reserve" in the processor). Other commands are named
// by themselves (set, zrem, hmget, ...).
//
// Phases: `phase(name)` sends `ECHO bench-marker:<name>` on the tally's own connection and waits until MONITOR
// shows it. MONITOR lists commands in the order Redis executed them, so every command after the marker and before
// the next one belongs to that phase, exactly, whatever the timing of the two sockets.

const MARKER = "bench-marker:";

/** The floor's one script (bench/floor.ts): reads one hash field, as a sold-out gate would. */
export const FLOOR_GATE_LUA = "return redis.call('HGET', KEYS[1], 'stock')";

/**
 * An argument as ioredis hands it to a "monitor" listener: Redis prints it with sdscatrepr (\\, \", \n, \r, \t,
 * \a, \b escaped, other unprintable bytes as \xHH), and ioredis turns \" back into " and nothing else.
 */
function monitorRepr(text: string): string {
  const named: Record<number, string> = { 0x5c: "\\\\", 0x22: '"', 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t", 0x07: "\\a", 0x08: "\\b" };
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out += named[byte] ?? (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`);
  }
  return out;
}

export class RedisTally {
  private readonly names = new Map<string, string>();
  private readonly sources = new Map<string, string>();
  private readonly counts = new Map<string, Map<string, number>>();
  private current = "idle";
  private waiting: { name: string; resolve: () => void } | undefined;
  /** When the last counted command arrived (Date.now()). */
  lastCommandAt = 0;

  private constructor(private readonly marker: Redis, private readonly monitor: Redis) {}

  static async start(url: string): Promise<RedisTally> {
    const marker = new Redis(url);
    defineScripts(marker, luaDir({}));
    const scripts = (marker as unknown as { scriptsSet: Record<string, { sha: string; lua: string }> }).scriptsSet;
    const monitor = await marker.monitor();
    const tally = new RedisTally(marker, monitor);
    tally.lastCommandAt = Date.now(); // quiet() waits from here at least
    for (const [name, script] of Object.entries(scripts)) tally.define(name, script.lua, script.sha);
    tally.define("floor_gate", FLOOR_GATE_LUA);
    monitor.on("monitor", (_time: string, args: string[], source: string) => tally.onCommand(args, source));
    await tally.phase("idle");
    return tally;
  }

  /** Name a script: by its sha (EVALSHA), and by its source as MONITOR prints it (EVAL, sent first on a connection). */
  define(name: string, lua: string, sha = createHash("sha1").update(lua).digest("hex")): void {
    this.names.set(sha, name);
    this.sources.set(monitorRepr(lua), name);
  }

  /** Names of the scripts the tally recognises, with their shas (in the results, so a reader can check them). */
  scripts(): Record<string, string> {
    return Object.fromEntries([...this.names].map(([sha, name]) => [name, sha]));
  }

  async phase(name: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<void>((resolve, reject) => {
      this.waiting = { name, resolve };
      timer = setTimeout(() => reject(new Error(`MONITOR never showed the marker for ${name}`)), 5_000);
    });
    await this.marker.echo(`${MARKER}${name}`);
    await seen.finally(() => clearTimeout(timer));
  }

  /** Waits until no command has arrived for `quietMs`. */
  async quiet(quietMs: number, maxMs = 10_000): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (Date.now() - this.lastCommandAt < quietMs) {
      if (Date.now() > deadline) throw new Error(`Redis never went quiet for ${quietMs} ms`);
      await sleep(5);
    }
  }

  /** Commands per request of a phase: the total and by script, over `requests` requests. */
  perRequest(phase: string, requests: number): CommandCounts {
    const byLabel = this.counts.get(phase) ?? new Map<string, number>();
    const total = [...byLabel.values()].reduce((a, b) => a + b, 0);
    const by_script = Object.fromEntries([...byLabel].sort((a, b) => b[1] - a[1]).map(([label, n]) => [label, round(n / requests)]));
    return { total: round(total / requests), requests, by_script };
  }

  /** Moves commands with these labels from one phase to another (see the accepted-buy count in run.ts). */
  move(from: string, to: string, labels: string[]): number {
    let moved = 0;
    const source = this.counts.get(from);
    if (!source) return 0;
    for (const label of labels) {
      const n = source.get(label) ?? 0;
      if (!n) continue;
      source.delete(label);
      this.bump(to, label, n);
      moved += n;
    }
    return moved;
  }

  stop(): void {
    this.monitor.disconnect();
    this.marker.disconnect();
  }

  private onCommand(args: string[], source: string): void {
    if (source === "lua" || !args.length) return;
    const command = args[0]!.toLowerCase();
    if (command === "echo" && args[1]?.startsWith(MARKER)) {
      this.current = args[1].slice(MARKER.length);
      if (this.waiting?.name === this.current) this.waiting.resolve();
      return;
    }
    const label = this.label(command, args);
    this.lastCommandAt = Date.now();
    this.bump(this.current, label, 1);
  }

  private label(command: string, args: string[]): string {
    if (command !== "evalsha" && command !== "eval" && command !== "evalsha_ro" && command !== "eval_ro") return command;
    const name = command.startsWith("evalsha")
      ? (this.names.get(args[1]!) ?? `script ${args[1]!.slice(0, 8)}`)
      : (this.sources.get(args[1]!) ?? `script ${createHash("sha1").update(args[1]!).digest("hex").slice(0, 8)} (EVAL)`);
    if (name === "admit") return `admit(${args[3 + Number(args[2])]})`;
    return name;
  }

  private bump(phase: string, label: string, n: number): void {
    const m = this.counts.get(phase) ?? new Map<string, number>();
    m.set(label, (m.get(label) ?? 0) + n);
    this.counts.set(phase, m);
  }
}

export interface CommandCounts {
  total: number;
  requests: number;
  by_script: Record<string, number>;
}

export const describeCounts = (c: CommandCounts | undefined) =>
  c ? `${c.total} (${Object.entries(c.by_script).map(([k, v]) => `${k} ${v}`).join(", ") || "none"})` : "—";
