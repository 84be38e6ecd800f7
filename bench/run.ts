/**
 * npm run bench: throughput and latency of the local profile, measured against a bare Node server in the
 * same run (ratios travel between machines; absolute numbers do not), plus Redis calls per request.
 * The engine runs in its own process so the load generator does not share its event loop.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import { freePort, startRedisServer } from "../packages/functions/src/local/redis-server";

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
  requests_per_second: Math.round(r.requests.average),
  p50_ms: r.latency.p50,
  p99_ms: r.latency.p99,
  total: r.requests.total,
  status: Object.fromEntries(Object.entries((r as any).statusCodeStats ?? {}).map(([k, v]: [string, any]) => [k, Number(v.count)])),
  errors: r.errors,
});

async function commandCount(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  return [...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)]
    .filter(([, name]) => !["info", "ping", "client", "hello", "select", "script"].includes(name!))
    .reduce((n, [, , calls]) => n + Number(calls), 0);
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
  const redis = new Redis(redisServer.url);
  const port = await freePort();
  const engine = spawn(process.execPath, ["--import", "tsx", "scripts/local.ts"], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, PORT: String(port), ADMIN_TOKEN: TOKEN, REDIS_URL: redisServer.url, RATE_LIMIT_MAX_REQUESTS: "1000000", POWERTOOLS_LOG_LEVEL: "ERROR", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  const base = `http://127.0.0.1:${port}`;
  await waitHttp(`${base}/health`);
  const admin = (item: string, stock: number, limit = 1) =>
    fetch(`${base}/admin/items/${item}`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ stock, per_user_limit: limit }) });
  const levels = async (item: string) => (await (await fetch(`${base}/admin/items/${item}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { stock: number; in_flight: number; sold: number };
  const order = (item: string) => () => JSON.stringify({ user_id: `u-${randomUUID().slice(0, 12)}`, item_id: item, amount: 1, request_id: randomUUID() });

  try {
    // Warm-up so JIT and connections are settled before measuring.
    await admin("warm", 0);
    await load(`${base}/buy`, order("warm"), { duration: 2 });

    // 2a. Sold out: the path most of a flash crowd takes.
    await admin("gone", 0);
    let before = await commandCount(redis);
    const soldOut = summary(await load(`${base}/buy`, order("gone")));
    const soldOutCalls = ((await commandCount(redis)) - before) / soldOut.total;
    results.sold_out = { ...soldOut, ratio_to_bare: +(soldOut.requests_per_second / baseline.requests_per_second).toFixed(2), redis_calls_per_request: +soldOutCalls.toFixed(2) };
    console.log("sold out", results.sold_out);

    // 2b. Flash crowd: 100 units, 20,000 distinct buyers, then the time until every unit is settled.
    await admin("drop", 100);
    const crowdStart = Date.now();
    const crowd = summary(await load(`${base}/buy`, order("drop"), { amount: 20_000 }));
    let l = await levels("drop");
    while (l.sold + l.stock < 100 || l.in_flight > 0) {
      await new Promise((r) => setTimeout(r, 20));
      l = await levels("drop");
    }
    results.flash_crowd = { ...crowd, stock: 100, levels_after: l, seconds_until_all_settled: (Date.now() - crowdStart) / 1000 };
    console.log("flash crowd", results.flash_crowd);

    // 2c. Settlement throughput: 2,000 accepted orders, measured from the first 202 to the last sale.
    await admin("bulk", 2000, 1);
    before = await commandCount(redis);
    const bulkStart = Date.now();
    const bulk = summary(await load(`${base}/buy`, order("bulk"), { amount: 2000, connections: 50 }));
    const acceptedAt = Date.now();
    const buyCalls = ((await commandCount(redis)) - before) / 2000;
    for (l = await levels("bulk"); l.sold < 2000; l = await levels("bulk")) await new Promise((r) => setTimeout(r, 20));
    const totalCalls = ((await commandCount(redis)) - before) / 2000;
    const settleSeconds = (Date.now() - bulkStart) / 1000;
    results.accepted_orders = {
      ...bulk,
      redis_calls_per_accepted_buy: +buyCalls.toFixed(2),
      redis_calls_per_order_end_to_end: +totalCalls.toFixed(2),
      seconds_to_accept_2000: (acceptedAt - bulkStart) / 1000,
      seconds_to_settle_2000: settleSeconds,
      orders_settled_per_second: Math.round(2000 / settleSeconds),
    };
    console.log("accepted orders", results.accepted_orders);
  } finally {
    await stop(engine);
    redis.disconnect();
    await redisServer.stop();
  }

  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", JSON.stringify(results, null, 2) + "\n");
  console.log("written bench/results/latest.json");
}

await main();
