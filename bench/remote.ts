/**
 * `npm run bench -- --url <base>` (or `--stage <stage>`): the bench's scenarios against an engine that is already
 * running, the local profile (`npm start`) or a deployed stage, with this machine as the load generator.
 *
 *   1. sold-out storm: POST /buy on a fresh item with stock 0, for --duration seconds;
 *   2. flash crowd: --buyers distinct buyers for --stock units, then settlement, then the checks: exactly the stock
 *      sold, nothing in flight, no 5xx (exit 1 when one fails);
 *   3. accepted orders: --stock units, one buyer each, and the time until all are sold (--skip-accepted skips it).
 *
 * Admin calls (loading stock, reading levels) go through the ops CLI's client (scripts/ops/target.ts): a bearer
 * token locally (--token or ADMIN_TOKEN), SigV4 with the default AWS credential chain otherwise. Only loopback
 * targets are loaded without --i-own-this-target. The local-only parts of `npm run bench` (floors, Redis MONITOR
 * counts, queue down, raw dynalite, bundles) need processes on this machine and are skipped.
 *
 * Exit codes: 0 all checks held, 1 a check failed or the run broke, 2 usage or refused (non-loopback target without
 * the flag, buyer identity on).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { parseArgs } from "node:util";
import { pathOf } from "@flash/core/contract/routes";
import { call, HttpError, resolveTarget, UsageError, type Target } from "../scripts/ops/target";
import { HTTP_TABLE_HEADER, httpRow, load, mdRow, round, sleep, summary, type Summary } from "./support";

export const USAGE = `usage: npm run bench                                      the local bench (starts its own engines; no flags)
       npm run bench -- --url <base> | --stage <stage> [options]
                                                         the same scenarios against a running engine

target (as the ops CLI resolves it):
  --url <base>             the engine's base URL, e.g. http://127.0.0.1:3000 (npm start) or the stage's ApiUrl
  --stage <stage>          a deployed stage: ApiUrl from .sst/outputs.json, admin calls SigV4-signed
  --token <admin token>    or ADMIN_TOKEN: bearer token for the local profile; without one, admin calls are
                           SigV4-signed with your AWS credentials (execute-api)
  --region <region>        or AWS_REGION (us-east-1), for SigV4
  --i-own-this-target      required for any host other than 127.0.0.1, localhost or ::1

load:
  --rps <n>                cap on requests per second over all connections (default: no cap)
  --duration <s>           seconds of sold-out storm (default 8)
  --buyers <n>             distinct buyers in the flash crowd (default 20000)
  --stock <n>              units in the flash crowd, and accepted orders to place (default 100; <= --buyers)
  --connections <n>        concurrent connections (default 100; accepted orders use at most 50)
  --settle-timeout <s>     how long to wait for settlement after the crowd and the accepted orders (default 60)
  --skip-accepted          do not run the accepted-orders scenario
  --out <dir>              where remote-<host>.json and .md go (default bench/results)
  -h, --help

exit codes: 0 all checks held, 1 a check failed (or the run broke), 2 usage error or refused target`;

export interface Io {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
  cwd?: string;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);
export const isLoopback = (url: string) => LOOPBACK.has(new URL(url).hostname.toLowerCase());

/** Thrown when the target must not be benchmarked as it is (exit 2, the message alone). */
class Refused extends Error {}
/** A failure the message explains (unreachable, admin refused): exit 1, the message alone, no stack. */
class Failed extends Error {}

interface Levels {
  stock: number;
  in_flight: number;
  sold: number;
}

export interface Check {
  scenario: string;
  what: string;
  expected: string;
  seen: string;
  ok: boolean;
}

const statusLine = (s: Summary) =>
  Object.entries(s.status)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([code, n]) => `${n.toLocaleString("en-US")} × ${code}`)
    .join(", ") || "no answers";
const fiveXx = (s: Summary) => Object.entries(s.status).reduce((acc, [code, n]) => acc + (Number(code) >= 500 ? n : 0), 0);

export async function runRemote(argv: string[], io: Io): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        url: { type: "string" },
        stage: { type: "string" },
        token: { type: "string" },
        region: { type: "string" },
        "i-own-this-target": { type: "boolean", default: false },
        rps: { type: "string" },
        duration: { type: "string" },
        buyers: { type: "string" },
        stock: { type: "string" },
        connections: { type: "string" },
        "settle-timeout": { type: "string" },
        "skip-accepted": { type: "boolean", default: false },
        out: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (err) {
    return usage(io, (err as Error).message);
  }
  if (flags.help) {
    io.out(USAGE);
    return 0;
  }
  try {
    const int = (name: keyof typeof flags, fallback: number | undefined, min = 1): number | undefined => {
      const value = flags[name];
      if (value === undefined) return fallback;
      const n = Number(value);
      if (typeof value !== "string" || !Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
      return n;
    };
    const options = {
      rps: int("rps", undefined),
      duration: int("duration", 8)!,
      buyers: int("buyers", 20_000)!,
      stock: int("stock", 100)!,
      connections: int("connections", 100)!,
      settleTimeoutS: int("settle-timeout", 60)!,
      skipAccepted: flags["skip-accepted"] === true,
    };
    if (options.buyers < options.stock) throw new UsageError(`--buyers (${options.buyers}) must be at least --stock (${options.stock}): the crowd is to buy all of it`);
    if (flags.url === undefined && flags.stage === undefined) {
      throw new UsageError("these options are for a running engine: pass --url <base> or --stage <stage> (the local bench, `npm run bench`, takes none)");
    }
    const target = resolveTarget({ url: flags.url, stage: flags.stage, token: flags.token, region: flags.region }, io.env, io.cwd);
    let host: string;
    try {
      host = new URL(target.url).host;
    } catch {
      throw new UsageError(`not a URL: ${target.url}`);
    }
    if (!isLoopback(target.url) && !flags["i-own-this-target"]) {
      throw new Refused(
        `refusing to load ${host}: not a loopback address. Sending a load test to a host you do not run is an attack; ` +
          "if it is your own stage, pass --i-own-this-target.",
      );
    }
    const outDir = path.resolve(io.cwd ?? process.cwd(), flags.out ?? "bench/results");
    return await bench(target, host, options, outDir, io);
  } catch (err) {
    if (err instanceof UsageError) return usage(io, err.message);
    if (err instanceof Refused) {
      io.err(`bench: ${err.message}`);
      return 2;
    }
    io.err(`bench: ${err instanceof HttpError || err instanceof Failed ? err.message : ((err as Error).stack ?? String(err))}`);
    return 1;
  }
}

function usage(io: Io, message: string): number {
  io.err(`bench: ${message}\n(npm run bench -- --help lists the options)`);
  return 2;
}

interface Options {
  rps?: number;
  duration: number;
  buyers: number;
  stock: number;
  connections: number;
  settleTimeoutS: number;
  skipAccepted: boolean;
}

async function bench(target: Target, host: string, o: Options, outDir: string, io: Io): Promise<number> {
  const base = target.url;
  const buyUrl = `${base}${pathOf("buy")}`;
  const loopback = isLoopback(base);
  const pollMs = loopback ? 50 : 500; // each admin read is a Lambda invocation on AWS
  const signing = target.adminToken ? "bearer token" : `SigV4 (execute-api, ${target.region}, default AWS credential chain)`;
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const prefix = `bench-${stamp}-${randomUUID().slice(0, 4)}`;
  const items = { storm: `${prefix}-storm`, crowd: `${prefix}-crowd`, ...(o.skipAccepted ? {} : { accepted: `${prefix}-accepted` }) };
  const runTag = prefix.slice(-4);
  let buyer = 0;
  const order = (item: string) => () =>
    JSON.stringify({ user_id: `b${runTag}-${(buyer++).toString(36)}`, item_id: item, amount: 1, request_id: randomUUID() });

  io.out(`bench: remote mode against ${base} (admin calls: ${signing})`);
  io.out("bench: skipped here: the floors, Redis MONITOR counts, queue-down, raw dynalite and bundle parts of `npm run bench` (they need the engine's processes on this machine)");
  io.out(`bench: items this run creates (they stay on the target): ${Object.values(items).join(", ")}`);
  io.out(
    `bench: storm ${o.duration} s; crowd ${o.buyers} buyers for ${o.stock} units; ${o.skipAccepted ? "no accepted orders" : `${o.stock} accepted orders`}; ` +
      `${o.connections} connections, ${o.rps ? `at most ${o.rps} requests/s` : "no rate cap"}`,
  );

  // Reachable, and the engine we think it is.
  const health = await fetch(`${base}${pathOf("health")}`, { signal: AbortSignal.timeout(15_000) }).catch((err: Error) => {
    throw new Failed(`${base} does not answer: ${err.message}${err.cause ? ` (${(err.cause as Error).message})` : ""}`);
  });
  const healthBody = await health.text();
  io.out(`bench: GET /health → ${health.status} ${healthBody.slice(0, 200)}`);

  const admin = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    try {
      return await call<T>(target, method, route, body);
    } catch (err) {
      if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
        throw new Failed(
          `${method} ${route} answered ${err.status}: ` +
            (target.adminToken
              ? "the admin token was refused (--token or ADMIN_TOKEN must be the one the engine printed)"
              : "the SigV4-signed admin call was refused: your AWS credentials need execute-api:Invoke on the stage's admin routes; against the local profile pass --token or set ADMIN_TOKEN"),
        );
      }
      if ((err as Error).name === "CredentialsProviderError") {
        throw new Failed(`${method} ${route}: no AWS credentials to sign with (${(err as Error).message}); set AWS_PROFILE, or pass --token for the local profile`);
      }
      throw err;
    }
  };
  const setStock = (item: string, stock: number) => admin<Levels>("PUT", pathOf("setStock", { item_id: item }), { stock, per_user_limit: 1 });
  const levels = (item: string) => admin<Levels>("GET", pathOf("getItem", { item_id: item }));

  /**
   * A load run and, beside it, a watch on the item's levels (every `pollMs`) from the first request: resolves once
   * `done(levels, loadOver)` holds, or `--settle-timeout` seconds after the load ended. `loadOver` is read before
   * each levels call: when it is true, that read began after the last answer.
   */
  async function loadAndWatch(item: string, run: () => ReturnType<typeof load>, done: (l: Levels, loadOver: boolean) => boolean) {
    const started = Date.now();
    let endedAt: number | undefined;
    const watch = (async () => {
      for (;;) {
        const over = endedAt;
        const l = await levels(item);
        if (done(l, over !== undefined)) return { levels: l, at: Date.now(), timedOut: false };
        if (over !== undefined && Date.now() > over + o.settleTimeoutS * 1000) return { levels: l, at: Date.now(), timedOut: true };
        await sleep(pollMs);
      }
    })();
    const result = await run().finally(() => (endedAt = Date.now()));
    return { started, endedAt: endedAt!, summary: summary(result), settled: await watch };
  }

  const checks: Check[] = [];
  const check = (scenario: string, what: string, expected: string | number, seen: string | number, ok: boolean) => {
    checks.push({ scenario, what, expected: String(expected), seen: String(seen), ok });
    io.out(`check ${scenario}: ${what}: expected ${expected}, seen ${seen}: ${ok ? "ok" : "VIOLATION"}`);
  };
  const invariants = (scenario: string, s: Summary, after: { levels: Levels; timedOut: boolean }) => {
    const l = after.levels;
    check(scenario, "units sold", o.stock, l.sold, l.sold === o.stock && l.stock === 0);
    check(scenario, "in flight after settlement", 0, after.timedOut ? `${l.in_flight} (still, ${o.settleTimeoutS} s after the load)` : l.in_flight, l.in_flight === 0);
    check(scenario, "5xx answers", 0, fiveXx(s), fiveXx(s) === 0);
  };

  // 1. Sold-out storm, after one probe buy: a 401 there means buyer identity is on, and every buy would be a 401.
  await setStock(items.storm, 0);
  const probe = await fetch(buyUrl, { method: "POST", headers: { "content-type": "application/json" }, body: order(items.storm)(), signal: AbortSignal.timeout(30_000) });
  const probeBody = await probe.text();
  if (probe.status === 401) {
    throw new Refused(
      `POST /buy answered 401 (${probeBody.slice(0, 120)}): buyer identity is on for this target, so every buy needs the buyer's JWT. ` +
        "The bench sends unauthenticated buys and takes no token source: run it against a stage without auth.jwt, " +
        "or the local profile without AUTH_JWT_ISSUER / AUTH_DEV_ISSUER.",
    );
  }
  if (probe.status !== 410) io.out(`bench: note: the probe buy on a sold-out item answered ${probe.status}, not 410: ${probeBody.slice(0, 200)}`);

  const storm = summary(await load(buyUrl, order(items.storm), { duration: o.duration, connections: o.connections, rate: o.rps }));
  io.out(`sold-out storm: ${JSON.stringify(storm)}`);

  // 2. Flash crowd: distinct buyers for the stock; the 202s' request_ids are kept to look the orders up afterwards.
  await setStock(items.crowd, o.stock);
  const acceptedIds: string[] = [];
  const keep202 = (status: number, body: string) => {
    if (status !== 202) return;
    try {
      acceptedIds.push((JSON.parse(body) as { request_id: string }).request_id);
    } catch {
      // counted by status anyway
    }
  };
  // Settled: all sold and nothing in flight (which may come before the crowd is over), or, once it is over, nothing
  // in flight. A run of `amount` requests ends at autocannon's first sample after the last answer: sampled every
  // 100 ms, its duration (and rate) is not rounded up to whole seconds.
  const crowdRun = await loadAndWatch(
    items.crowd,
    () => load(buyUrl, order(items.crowd), { duration: 0, amount: o.buyers, connections: Math.min(o.connections, o.buyers), rate: o.rps, sampleMs: 100, onResponse: keep202 }),
    (l, over) => l.in_flight === 0 && (over || (l.stock === 0 && l.sold === o.stock)),
  );
  const crowd = crowdRun.summary;
  const crowdSettled = crowdRun.settled;
  const crowdResult = {
    ...crowd,
    item: items.crowd,
    buyers: o.buyers,
    stock: o.stock,
    levels_after: crowdSettled.levels,
    seconds_until_all_settled: crowdSettled.timedOut ? null : (crowdSettled.at - crowdRun.started) / 1000,
    settle_poll_ms: pollMs,
  };
  io.out(`flash crowd: ${JSON.stringify(crowdResult)}`);
  invariants("flash crowd", crowd, crowdSettled);
  check("flash crowd", "202 answers", o.stock, crowd.status["202"] ?? 0, (crowd.status["202"] ?? 0) === o.stock);
  // Each 202 names an order: look up to 200 of them up (public route), waiting out any still PENDING.
  const sample = acceptedIds.slice(0, 200);
  const orderStatuses: Record<string, number> = {};
  const deadline = Date.now() + o.settleTimeoutS * 1000;
  for (const rid of sample) {
    let status = "PENDING";
    for (;;) {
      const r = await fetch(`${base}${pathOf("order", { request_id: rid })}`, { signal: AbortSignal.timeout(15_000) });
      const body = (await r.json().catch(() => ({}))) as { status?: string };
      status = r.ok ? (body.status ?? "?") : `HTTP ${r.status}`;
      if (status !== "PENDING" || Date.now() > deadline) break;
      await sleep(pollMs);
    }
    orderStatuses[status] = (orderStatuses[status] ?? 0) + 1;
  }
  const ordersSeen = Object.entries(orderStatuses).map(([s, n]) => `${n} ${s}`).join(", ") || "none";
  check("flash crowd", `orders of the 202s (GET /orders, ${sample.length} looked up)`, `${sample.length} COMPLETED`, ordersSeen, (orderStatuses.COMPLETED ?? 0) === sample.length);

  // 3. Accepted orders: one buyer per unit, at most 50 connections, and the time until the last one is sold (the
  // watch reads the levels from the first request on, so settlement is timed to within a poll).
  let accepted: (Summary & Record<string, unknown>) | undefined;
  if (items.accepted) {
    await setStock(items.accepted, o.stock);
    const connections = Math.min(50, o.connections, o.stock); // autocannon wants no more connections than requests
    const run = await loadAndWatch(
      items.accepted,
      () => load(buyUrl, order(items.accepted!), { duration: 0, amount: o.stock, connections, rate: o.rps, sampleMs: 100 }),
      (l, over) => l.in_flight === 0 && (over || l.sold === o.stock),
    );
    const s = run.summary;
    const done = run.settled;
    const settleSeconds = (done.at - run.started) / 1000;
    accepted = {
      ...s,
      item: items.accepted,
      connections,
      levels_after: done.levels,
      seconds_to_accept: (run.endedAt - run.started) / 1000,
      seconds_to_settle: done.timedOut ? null : settleSeconds,
      orders_settled_per_second: done.timedOut ? null : Math.round(done.levels.sold / settleSeconds),
      settle_poll_ms: pollMs,
    };
    io.out(`accepted orders: ${JSON.stringify(accepted)}`);
    invariants("accepted orders", s, done);
  }

  const results = {
    when: new Date().toISOString(),
    node: process.version,
    mode: "remote",
    target: base,
    admin_auth: target.adminToken ? "bearer" : "sigv4",
    options: o,
    items,
    health: { status: health.status, body: healthBody.slice(0, 500) },
    skipped: ["floors (bare Node, bare + EVALSHA)", "Redis MONITOR counts", "queue down", "settlement vs raw dynalite", "function bundles"],
    http: { sold_out: { ...storm, item: items.storm, seconds: o.duration }, flash_crowd: crowdResult, ...(accepted ? { accepted_orders: accepted } : {}) },
    orders_of_202s: { looked_up: sample.length, statuses: orderStatuses },
    checks,
    ok: checks.every((c) => c.ok),
  };
  const file = `remote-${host.replace(/[^A-Za-z0-9.-]+/g, "_")}`;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, `${file}.json`), JSON.stringify(results, null, 2) + "\n");
  const md = markdown(results, o, host);
  writeFileSync(path.join(outDir, `${file}.md`), md);
  io.out(`\n${md}`);
  io.out(`written ${path.join(outDir, file)}.json and .md`);
  const failed = checks.filter((c) => !c.ok);
  io.out(failed.length ? `bench: ${failed.length} check(s) failed` : "bench: all checks held");
  return failed.length ? 1 : 0;
}

function markdown(r: any, o: Options, host: string): string {
  const http = r.http;
  const crowd = http.flash_crowd;
  const acc = http.accepted_orders;
  const l = crowd.levels_after as Levels;
  const cap = o.rps ? `at most ${o.rps} requests/s` : "no rate cap";
  return [
    `## ${host}, from this machine (one run, ${r.when.slice(0, 16).replace("T", " ")} UTC, Node ${r.node}, autocannon -c ${o.connections}, ${cap})`,
    "",
    `\`npm run bench -- --url ${r.target}\`: an engine already running, loaded over the network from here, so latency includes the trip.` +
      " The floors and Redis counts of the local bench need the engine's processes on this machine: \"—\" here.",
    `Items: ${Object.values(r.items).map((i) => `\`${i}\``).join(", ")}.`,
    "",
    ...HTTP_TABLE_HEADER,
    httpRow(`\`POST /buy\`, sold out (a fresh item with stock 0, ${o.duration} s)`, http.sold_out, "—"),
    httpRow(`flash crowd: ${o.buyers.toLocaleString("en-US")} distinct buyers for ${o.stock.toLocaleString("en-US")} units`, crowd, "—"),
    ...(acc ? [httpRow(`accepted orders (${o.stock.toLocaleString("en-US")} units, ${acc.connections} connections)`, acc, "—")] : []),
    "",
    `Sold-out storm: ${statusLine(http.sold_out)}; ${http.sold_out.errors} transport errors.`,
    `Flash crowd outcome: ${statusLine(crowd)}; ${crowd.errors} transport errors; afterwards \`stock ${l.stock}, in_flight ${l.in_flight}, sold ${l.sold}\`` +
      (crowd.seconds_until_all_settled === null ? `, not settled within ${o.settleTimeoutS} s.` : `, all settled ${round(crowd.seconds_until_all_settled)} s after the crowd began.`),
    ...(acc
      ? [
          `Accepted orders: ${statusLine(acc)}; ` +
            (acc.seconds_to_settle === null
              ? `not all settled within ${o.settleTimeoutS} s.`
              : `${acc.levels_after.sold} settled in ${round(acc.seconds_to_settle)} s (first request to last sale, polled every ${acc.settle_poll_ms} ms): **${acc.orders_settled_per_second} orders/s**.`),
        ]
      : []),
    "",
    "| check | expected | seen | |",
    "|---|---:|---:|---|",
    ...(r.checks as Check[]).map((c) => mdRow([`${c.scenario}: ${c.what}`, c.expected, c.seen, c.ok ? "ok" : "**violation**"])),
    "",
  ].join("\n");
}
