/**
 * npm run bench: throughput and latency of the local profile, measured against a bare Node server in the
 * same run (ratios travel between machines; absolute numbers do not), plus Redis calls per request.
 * The engine runs in its own process so the load generator does not share its event loop.
 */
import { pathOf } from "@flash/core/contract/routes";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import { freePort, startRedisServer } from "@flash/local/redis-server";

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const TOKEN = "bench-token";

type Result = Awaited<ReturnType<typeof autocannon>>;

async function waitHttp(url: string) {
  for (let i = 0; i < 300; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up`);
}

function stop(child: ChildProcess) {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGINT");
  });
}

const load = (url: string, body: () => string, opts: { duration?: number; amount?: number; connections?: number } = {}) =>
  autocannon({
    url,
    connections: opts.connections ?? CONNECTIONS,
    ...(opts.amount ? { amount: opts.amount } : { duration: opts.duration ?? DURATION }),
    requests: [{ method: "POST", headers: { "content-type": "application/json" }, setupRequest: (req: any) => ({ ...req, body: body() }) }],
  });

const summary = (r: Result) => ({
  requests_per_second: Math.round(r.requests.total / r.duration), // total over wall time, not the per-second sample mean
  p50_ms: r.latency.p50,
  p99_ms: r.latency.p99,
  total: r.requests.total,
  status: Object.fromEntries(Object.entries((r as any).statusCodeStats ?? {}).map(([k, v]: [string, any]) => [k, Number(v.count)])),
  errors: r.errors,
});

/**
 * Redis commands the engine sends per request, counted with MONITOR (script-internal commands are reported with
 * source "lua" and not counted): round trips, which is what costs on ElastiCache.
 */
async function redisCallsPer(redisUrl: string, requests: number, work: () => Promise<void>): Promise<number> {
  const client = new Redis(redisUrl);
  const monitor = await client.monitor();
  let calls = 0;
  monitor.on("monitor", (_time: string, _args: string[], source: string) => {
    if (source !== "lua") calls++;
  });
  await new Promise((r) => setTimeout(r, 100));
  await work();
  await new Promise((r) => setTimeout(r, 300));
  monitor.disconnect();
  client.disconnect();
  return +(calls / requests).toFixed(2);
}

async function main() {
  const results: Record<string, unknown> = { when: new Date().toISOString(), connections: CONNECTIONS, duration_s: DURATION, node: process.version };

  // 1. Baseline: a bare Node server that parses the JSON body and answers 410.
  const barePort = await freePort();
  const bare = spawn(process.execPath, ["-e", `require("http").createServer((q,s)=>{let b="";q.on("data",c=>b+=c);q.on("end",()=>{try{JSON.parse(b)}catch{}s.writeHead(410,{"content-type":"application/json"});s.end('{"error":"sold_out"}')})}).listen(${barePort},"127.0.0.1")`], { stdio: "inherit" });
  await waitHttp(`http://127.0.0.1:${barePort}/`);
  const baseline = summary(await load(`http://127.0.0.1:${barePort}/`, () => `{"user_id":"u","item_id":"i","amount":1,"request_id":"${randomUUID()}"}`));
  await stop(bare);
  results.bare_node_410 = baseline;
  console.log("bare node 410", baseline);

  // 2. The engine (npm start's code) in its own process, with a Redis the bench can count commands on.
  const redisServer = await startRedisServer();
  const port = await freePort();
  const engine = spawn(process.execPath, ["--import", "tsx", "scripts/local.ts"], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, PORT: String(port), ADMIN_TOKEN: TOKEN, REDIS_URL: redisServer.url, RATE_LIMIT_MAX_REQUESTS: "1000000", POWERTOOLS_LOG_LEVEL: "ERROR", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  const base = `http://127.0.0.1:${port}`;
  await waitHttp(`${base}${pathOf("health")}`);
  const admin = (item: string, stock: number, limit = 1) =>
    fetch(`${base}${pathOf("setStock", { item_id: item })}`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ stock, per_user_limit: limit }) });
  const levels = async (item: string) => (await (await fetch(`${base}${pathOf("getItem", { item_id: item })}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { stock: number; in_flight: number; sold: number };
  const order = (item: string) => () => JSON.stringify({ user_id: `u-${randomUUID().slice(0, 12)}`, item_id: item, amount: 1, request_id: randomUUID() });

  try {
    // Warm-up so JIT and connections are settled before measuring.
    await admin("warm", 0);
    await load(`${base}${pathOf("buy")}`, order("warm"), { duration: 2 });

    // 2a. Sold out: the path most of a flash crowd takes.
    await admin("gone", 0);
    const soldOut = summary(await load(`${base}${pathOf("buy")}`, order("gone")));
    results.sold_out = { ...soldOut, ratio_to_bare: +(soldOut.requests_per_second / baseline.requests_per_second).toFixed(2) };
    console.log("sold out", results.sold_out);

    // 2b. Flash crowd: 100 units, 20,000 distinct buyers, then the time until every unit is settled.
    await admin("drop", 100);
    const crowdStart = Date.now();
    const crowd = summary(await load(`${base}${pathOf("buy")}`, order("drop"), { amount: 20_000 }));
    let l = await levels("drop");
    while (l.sold + l.stock < 100 || l.in_flight > 0) {
      await new Promise((r) => setTimeout(r, 20));
      l = await levels("drop");
    }
    results.flash_crowd = { ...crowd, stock: 100, levels_after: l, seconds_until_all_settled: (Date.now() - crowdStart) / 1000 };
    console.log("flash crowd", results.flash_crowd);

    // 2c. Settlement throughput: 2,000 accepted orders, measured from the first 202 to the last sale.
    await admin("bulk", 2000, 1);
    const bulkStart = Date.now();
    const bulk = summary(await load(`${base}${pathOf("buy")}`, order("bulk"), { amount: 2000, connections: 50 }));
    const acceptedAt = Date.now();
    for (l = await levels("bulk"); l.sold < 2000; l = await levels("bulk")) await new Promise((r) => setTimeout(r, 20));
    const settleSeconds = (Date.now() - bulkStart) / 1000;
    results.accepted_orders = {
      ...bulk,
      seconds_to_accept_2000: (acceptedAt - bulkStart) / 1000,
      seconds_to_settle_2000: settleSeconds,
      orders_settled_per_second: Math.round(2000 / settleSeconds),
    };
    console.log("accepted orders", results.accepted_orders);

    // 2d. Redis round trips per request, path by path (sequential, 200 each, under MONITOR).
    const post = (body: string) => fetch(`${base}${pathOf("buy")}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const N = 200;
    const sequential = async (bodies: () => string) => { for (let i = 0; i < N; i++) await post(bodies()); };
    await admin("calls", N * 2, 1);
    const accepted: string[] = [];
    const calls = {
      sold_out: await redisCallsPer(redisServer.url, N, () => sequential(order("gone"))),
      accepted_buy_and_settlement: await redisCallsPer(redisServer.url, N, async () => {
        for (let i = 0; i < N; i++) {
          const body = order("calls")();
          accepted.push(body);
          await post(body);
        }
        for (let l = await levels("calls"); l.sold < N; l = await levels("calls")) await new Promise((r) => setTimeout(r, 20));
      }),
      duplicate: await redisCallsPer(redisServer.url, N, async () => { for (const body of accepted) await post(body); }),
    };
    // The two levels() polls per loop above go through the admin route (one HMGET each); they are few next to N.
    results.redis_calls_per_request = calls;
    console.log("redis calls per request", calls);
  } finally {
    await stop(engine);
    await redisServer.stop();
  }

  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", JSON.stringify(results, null, 2) + "\n");
  console.log("written bench/results/latest.json");
}

await main();
