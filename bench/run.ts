/**
 * npm run bench: throughput and latency of the local profile against two floors measured in the same run (ratios
 * travel between machines; absolute numbers do not), Redis commands per request by path and by script, what a buyer
 * sees while the queue does not answer, and settlement against raw dynalite writes.
 * Writes bench/results/latest.json and bench/results/latest.md (tables ready for docs/benchmarks.md).
 *
 * Every engine is scripts/local.ts (the `npm start` code) in its own process; autocannon runs here. All of it
 * shares this machine's cores, so the load generator takes CPU from the server. Steps run one after the other,
 * and each stops what it started (finally) before the next begins.
 *
 * Environment: BENCH_SECONDS (default 8) per throughput run, BENCH_CONNECTIONS (100), BENCH_SEQUENTIAL (200)
 * sequential requests per Redis count.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { availableParallelism, loadavg } from "node:os";
import { randomUUID } from "node:crypto";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoClient } from "@flash/core/adapters/dynamodb/orders";
import { DEFAULTS } from "@flash/core/contract/environment";
import { freePort, startRedisServer } from "@flash/local/redis-server";
import { LOCAL_CREDENTIALS, startStandIns } from "@flash/local/stand-ins";
import {
  apiOf, Cleanup, fmtInt, HTTP_TABLE_HEADER, httpRow, launch, load, mdRow, percentile, RedisTally, round, sleep, sourceDefault,
  startEngine, summary, waitForOutput, type CommandCounts, type Summary,
} from "./support";

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
/** Sequential requests per Redis command count. */
const N = Number(process.env.BENCH_SEQUENTIAL ?? 200);
/** Accepted buys counted one at a time, each waited on until settled. */
const N_ACCEPTED = Math.max(20, Math.round(N / 2));
/** The raw dynalite writer runs this long for each of its two figures. */
const RAW_SECONDS = Math.min(DURATION, 5);
/** How long Redis must be silent before a settlement counts as over (its trailing per-batch metric read included). */
const SETTLED_QUIET_MS = 30;

// The processor's parallelism, as the engine's defaults set it: `processorConcurrency` receive loops, each handing
// batches of up to `batchSize` messages to the handler, whose BatchProcessor settles a batch's records in parallel.
// At most concurrency × batch size orders are in settlement at once: the raw writer uses that many callers.
const PROCESSOR_CONCURRENCY = sourceDefault("packages/local/src/engine.ts", /processorConcurrency \?\? (\d+)/, 4);
const BATCH_SIZE = sourceDefault("packages/local/src/queue-poller.ts", /batchSize \?\? (\d+)/, 10);

/** A fresh buyer and request_id per call, as a crowd sends them. */
const order = (item: string) => () => JSON.stringify({ user_id: `u-${randomUUID().slice(0, 12)}`, item_id: item, amount: 1, request_id: randomUUID() });
const statuses = (codes: number[]) => codes.reduce<Record<string, number>>((acc, s) => ((acc[s] = (acc[s] ?? 0) + 1), acc), {});

type Floors = { bare: number; bare_evalsha: number };
type HttpPath = Summary & { ratio_to_bare: number; ratio_to_bare_evalsha: number };
const withRatios = (s: Summary, floors: Floors): HttpPath => ({
  ...s,
  ratio_to_bare: round(s.requests_per_second / floors.bare),
  ratio_to_bare_evalsha: round(s.requests_per_second / floors.bare_evalsha),
});

const results = {
  when: new Date().toISOString(),
  node: process.version,
  connections: CONNECTIONS,
  duration_s: DURATION,
  sequential_requests_per_count: N,
  /** Other work on the machine moves every figure: the 1-minute load average at the start and at the end. */
  cores: availableParallelism(),
  load_average: { start: round(loadavg()[0]!), end: 0 },
  floors: {} as Record<"bare" | "bare_evalsha", Summary & { redis_commands_per_request: CommandCounts }>,
  http: {} as Record<string, HttpPath & { [extra: string]: unknown }>,
  redis_commands_per_request: {} as Record<string, CommandCounts & { note?: string }>,
  queue_down: {} as Record<string, unknown>,
  settlement_vs_dynalite: {} as Record<string, unknown>,
  scripts: {} as Record<string, string>,
};

/**
 * N sequential buys inside one tally phase; returns the statuses seen. It starts once Redis has been silent for
 * 200 ms: a server still working off the backlog of the load run before (requests autocannon gave up on when its
 * time was over) would otherwise put their later commands into this phase.
 */
async function countSequential(tally: RedisTally, phase: string, bodies: () => string, send: (body: string) => Promise<{ status: number }>) {
  await tally.quiet(200);
  await tally.phase(phase);
  const codes: number[] = [];
  for (let i = 0; i < N; i++) codes.push((await send(bodies())).status);
  await tally.phase("idle");
  return statuses(codes);
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Floors: the least an HTTP server can do per request here, and that plus one Redis round trip.

async function floor(mode: "bare" | "evalsha", redisUrl: string) {
  const port = await freePort();
  const child = launch("bench/floor.ts", [mode, String(port), ...(mode === "evalsha" ? [redisUrl] : [])]);
  try {
    await waitForOutput(child, "listening on", 20_000);
    const url = `http://127.0.0.1:${port}/`;
    await load(url, order("floor"), { duration: 1, connections: CONNECTIONS }); // warm-up, as the engines get
    const s = summary(await load(url, order("floor"), { duration: DURATION, connections: CONNECTIONS }));
    // The count checks the counter too: the EVALSHA floor must come out at exactly one command per request.
    const tally = await RedisTally.start(redisUrl);
    try {
      const floorApi = apiOf(`http://127.0.0.1:${port}`); // a floor answers any path
      await countSequential(tally, `floor_${mode}`, order("floor"), (body) => floorApi.buy(body));
      return { ...s, redis_commands_per_request: tally.perRequest(`floor_${mode}`, N) };
    } finally {
      tally.stop();
    }
  } finally {
    await child.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 2. The engine with default settings: sold out (near-cache warm), flash crowd, accepted orders, and Redis counts.

async function defaultEngine(redisUrl: string, floors: Floors) {
  const local = new Cleanup();
  try {
    // SOLD_OUT_CACHE_MS is left unset: the engine's default near-cache TTL (where the engine has one).
    const engine = await startEngine("default", redisUrl, {}, local);
    const api = apiOf(engine.url);
    await api.setStock("warm", 0);
    await load(api.buyUrl, order("warm"), { duration: 2, connections: CONNECTIONS }); // JIT and connections settle

    // Sold out, repeated requests on one item: the near-cache (if any) is warm after the first.
    await api.setStock("gone", 0);
    results.http.sold_out_warm = withRatios(summary(await load(api.buyUrl, order("gone"), { duration: DURATION, connections: CONNECTIONS })), floors);
    console.log("sold out, near-cache warm", results.http.sold_out_warm);

    // Flash crowd: 100 units, 20,000 distinct buyers, then the time until every unit is settled.
    await api.setStock("drop", 100);
    const crowdStart = Date.now();
    const crowd = summary(await load(api.buyUrl, order("drop"), { duration: DURATION, connections: CONNECTIONS, amount: 20_000 }));
    let l = await api.levels("drop");
    while (l.sold + l.stock < 100 || l.in_flight > 0) {
      await sleep(20);
      l = await api.levels("drop");
    }
    results.http.flash_crowd = { ...withRatios(crowd, floors), stock: 100, levels_after: l, seconds_until_all_settled: (Date.now() - crowdStart) / 1000 };
    console.log("flash crowd", results.http.flash_crowd);

    // Accepted orders: 2,000 units, 50 connections; settlement speed measured from the first 202 to the last sale.
    await api.setStock("bulk", 2000, 1);
    const bulkStart = Date.now();
    const bulk = summary(await load(api.buyUrl, order("bulk"), { duration: DURATION, connections: 50, amount: 2000 }));
    const acceptedAt = Date.now();
    for (l = await api.levels("bulk"); l.sold < 2000; l = await api.levels("bulk")) await sleep(20);
    const settleSeconds = (Date.now() - bulkStart) / 1000;
    results.http.accepted_orders = {
      ...withRatios(bulk, floors),
      seconds_to_accept_2000: (acceptedAt - bulkStart) / 1000,
      seconds_to_settle_2000: settleSeconds,
      orders_settled_per_second: Math.round(2000 / settleSeconds),
    };
    console.log("accepted orders", results.http.accepted_orders);

    // Redis commands per request, path by path: sequential requests, each path in its own MONITOR phase.
    const tally = await RedisTally.start(redisUrl);
    try {
      results.scripts = tally.scripts();
      const counts = results.redis_commands_per_request;
      const buy = (body: string) => api.buy(body);

      for (let i = 0; i < 20; i++) await api.buy(order("gone")()); // warm the near-cache for "gone" first
      const warmStatus = await countSequential(tally, "sold_out_warm", order("gone"), buy);
      counts.sold_out_warm = { ...tally.perRequest("sold_out_warm", N), note: `one item, repeated; default SOLD_OUT_CACHE_MS; statuses ${JSON.stringify(warmStatus)}` };

      // Cold without turning the cache off: every request names an item nobody has asked about (created beforehand,
      // outside the phase).
      for (let i = 0; i < N; i++) await api.setStock(`fresh-${i}`, 0);
      let next = 0;
      const freshStatus = await countSequential(tally, "sold_out_fresh_item", () => order(`fresh-${next++}`)(), buy);
      counts.sold_out_fresh_item = { ...tally.perRequest("sold_out_fresh_item", N), note: `a different sold-out item per request, default engine; statuses ${JSON.stringify(freshStatus)}` };

      // An accepted buy and its settlement, separated by sequencing: one order at a time. Phase "accepted_buy" runs
      // from a marker sent before the POST to a marker sent once its 202 is back (every command the buy call makes
      // precedes its reply); phase "settlement" runs from there until the order is final in DynamoDB (polled from
      // here: no Redis commands) and Redis has then been silent for SETTLED_QUIET_MS (the processor's per-batch
      // inventory read comes after the DynamoDB write). The processor may start an order before its 202 is back,
      // so the two scripts only the processor runs, admit in "reserve" mode and settle, are moved to settlement
      // wherever they landed; the number moved is reported.
      const db = await dynamoClient({ AWS_REGION: engine.banner.AWS_REGION ?? DEFAULTS.AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB: engine.banner.AWS_ENDPOINT_URL_DYNAMODB, credentials: LOCAL_CREDENTIALS });
      const table = engine.banner.ORDERS_TABLE ?? DEFAULTS.ORDERS_TABLE;
      const isFinal = async (rid: string) => {
        const out = await db.send(new GetItemCommand({ TableName: table, Key: { request_id: { S: rid } }, ConsistentRead: true }));
        const status = out.Item?.status?.S;
        return status !== undefined && status !== "PENDING";
      };
      const accepted: string[] = [];
      try {
        await api.setStock("calls", N_ACCEPTED, 1);
        for (let i = 0; i < N_ACCEPTED; i++) {
          const body = order("calls")();
          const rid = JSON.parse(body).request_id as string;
          await tally.phase("accepted_buy");
          const r = await api.buy(body);
          if (r.status !== 202) throw new Error(`accepted buy answered ${r.status}`);
          await tally.phase("settlement");
          const deadline = Date.now() + 15_000;
          while (!(await isFinal(rid))) {
            if (Date.now() > deadline) throw new Error(`order ${rid} not settled within 15 s`);
            await sleep(2);
          }
          await tally.quiet(SETTLED_QUIET_MS);
          accepted.push(body);
        }
        await tally.phase("idle");
      } finally {
        db.destroy();
      }
      const moved = tally.move("accepted_buy", "settlement", ["admit(reserve)", "settle"]);
      counts.accepted_buy = { ...tally.perRequest("accepted_buy", N_ACCEPTED), note: "the buy call, from the POST to its 202" };
      counts.settlement = {
        ...tally.perRequest("settlement", N_ACCEPTED),
        note: `the processor's work for that order, after the 202 until final in DynamoDB and Redis quiet ${SETTLED_QUIET_MS} ms (one order per batch here); ${moved} admit(reserve)/settle call(s) that ran before the 202 was back moved here`,
      };

      let d = 0;
      const dupStatus = await countSequential(tally, "duplicate", () => accepted[d++ % accepted.length]!, buy);
      counts.duplicate = { ...tally.perRequest("duplicate", N), note: `the same body as an accepted, settled request; statuses ${JSON.stringify(dupStatus)}` };
    } finally {
      tally.stop();
    }
    console.log("redis commands per request (default engine)", results.redis_commands_per_request);
  } finally {
    await local.run();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Sold out with the near-cache off (SOLD_OUT_CACHE_MS=0): every request goes to Redis, as on a cold cache.
// An engine without the setting ignores it (zod drops unknown keys), and then this is the same path as above.

async function coldEngine(redisUrl: string, floors: Floors) {
  const local = new Cleanup();
  try {
    const engine = await startEngine("cache-off", redisUrl, { SOLD_OUT_CACHE_MS: "0" }, local);
    const api = apiOf(engine.url);
    await api.setStock("warm", 0);
    await load(api.buyUrl, order("warm"), { duration: 2, connections: CONNECTIONS });
    await api.setStock("gone", 0);
    results.http.sold_out_cold = { ...withRatios(summary(await load(api.buyUrl, order("gone"), { duration: DURATION, connections: CONNECTIONS })), floors), engine_env: { SOLD_OUT_CACHE_MS: "0" } };
    console.log("sold out, near-cache off", results.http.sold_out_cold);
    const tally = await RedisTally.start(redisUrl);
    try {
      const status = await countSequential(tally, "sold_out_cold", order("gone"), (body) => api.buy(body));
      results.redis_commands_per_request.sold_out_cold = { ...tally.perRequest("sold_out_cold", N), note: `one item, repeated, SOLD_OUT_CACHE_MS=0; statuses ${JSON.stringify(status)}` };
    } finally {
      tally.stop();
    }
  } finally {
    await local.run();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 4. The queue does not answer: an engine whose SQS endpoint is a TCP server that accepts connections and never
// writes a byte. With QUEUE_URL set the engine starts no stand-ins, so the bench starts them here (startStandIns,
// in this process) and points DynamoDB at their dynalite: only SQS is elsewhere. AWS_CALL_TIMEOUT_MS and the
// breaker settings are the defaults.

async function silentServer() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.once("close", () => sockets.delete(socket));
    socket.resume(); // read and drop; never answer
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function queueDown(redisUrl: string, floors: Floors) {
  const local = new Cleanup();
  try {
    const silent = await silentServer();
    local.add("silent SQS endpoint", silent.stop);
    const standIns = await startStandIns({ maxReceiveCount: DEFAULTS.MAX_RECEIVE_COUNT });
    local.add("stand-ins for the queue-down engine", standIns.stop);
    const engine = await startEngine("queue-down", redisUrl, {
      QUEUE_URL: `${silent.endpoint}/000000000000/orders`,
      DLQ_URL: `${silent.endpoint}/000000000000/orders-dlq`,
      AWS_ENDPOINT_URL_SQS: silent.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: standIns.dynamoEndpoint!,
      ORDERS_TABLE: standIns.table,
    }, local);
    const api = apiOf(engine.url);
    await api.setStock("down", 1000);
    const before = await api.levels("down");

    // As many buys at once as it takes to open the breaker: each is admitted, waits for SendMessage until the call
    // deadline, is withdrawn and answers 503.
    const threshold = DEFAULTS.CIRCUIT_BREAKER_FAILURE_THRESHOLD;
    const first = await Promise.all(Array.from({ length: threshold }, () => api.buy(order("down")())));
    const firstMs = first.map((r) => r.ms).sort((a, b) => a - b);
    const afterFirst = await api.levels("down");

    // While the breaker is open: sequential buys (latency as this client sees it, fetch included), counted.
    const tally = await RedisTally.start(redisUrl);
    const latencies: number[] = [];
    let sequential: Record<string, number>;
    let retryAfter: string | null = null;
    try {
      sequential = await countSequential(tally, "queue_down_503", order("down"), async (body) => {
        const r = await api.buy(body);
        latencies.push(r.ms);
        retryAfter ??= r.retryAfter;
        return r;
      });
      results.redis_commands_per_request.queue_down_503 = { ...tally.perRequest("queue_down_503", N), note: "buy while the queue's circuit breaker is open" };
    } finally {
      tally.stop();
    }
    latencies.sort((a, b) => a - b);

    // And under load, for a rate comparable with the other paths.
    const burstSeconds = Math.min(DURATION, 3);
    const burst = summary(await load(api.buyUrl, order("down"), { duration: burstSeconds, connections: CONNECTIONS }));
    results.http.queue_down_503 = { ...withRatios(burst, floors), seconds: burstSeconds, note: "POST /buy while the queue's circuit breaker is open" };
    const state = (await api.health()).circuit_breaker_state;
    const after = await api.levels("down");

    results.queue_down = {
      aws_call_timeout_ms: DEFAULTS.AWS_CALL_TIMEOUT_MS,
      breaker_failure_threshold: threshold,
      breaker_open_seconds: DEFAULTS.CIRCUIT_BREAKER_BASE_TIMEOUT,
      first_buys: { concurrent: threshold, statuses: statuses(first.map((r) => r.status)), ms: firstMs.map((m) => Math.round(m)) },
      first_503_after_ms: Math.round(firstMs[0]!),
      breaker_open_after_ms: Math.round(firstMs[firstMs.length - 1]!),
      open: {
        sequential_requests: N,
        statuses: sequential,
        retry_after_s: retryAfter,
        p50_ms: round(percentile(latencies, 50)),
        p99_ms: round(percentile(latencies, 99)),
        max_ms: round(latencies[latencies.length - 1]!),
      },
      breaker_state_at_end: state,
      levels_before: before,
      levels_after_first_buys: afterFirst,
      levels_after: after,
      nothing_held: after.stock === before.stock && after.in_flight === before.in_flight && afterFirst.stock === before.stock && afterFirst.in_flight === before.in_flight,
    };
    console.log("queue down", results.queue_down);
  } finally {
    await local.run();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Raw conditional writes against dynalite, started the way the engine starts it (bench/raw-dynalite.ts says how).
// In the engine, dynalite lives in the engine's process beside the HTTP gateway, fauxqs and the processor; the raw
// writer's process holds dynalite, an idle fauxqs and the writers, and nothing else.

async function rawDynalite() {
  const callers = PROCESSOR_CONCURRENCY.value * BATCH_SIZE.value;
  const child = launch("bench/raw-dynalite.ts", [String(callers), String(RAW_SECONDS)]);
  try {
    await waitForOutput(child, '"callers"', 60_000);
    await new Promise((r) => (child.process.exitCode !== null ? r(null) : child.process.once("exit", r)));
    const line = child.output().split("\n").find((l) => l.startsWith('{"callers"'));
    if (!line) throw new Error(`raw-dynalite printed no result:\n${child.output()}`);
    const raw = JSON.parse(line) as { callers: number; conditional_writes: { per_second: number }; get_then_conditional_write: { per_second: number } };
    const settled = results.http.accepted_orders?.orders_settled_per_second as number | undefined;
    const capacity = await processorCapacity();
    results.settlement_vs_dynalite = {
      orders_settled_per_second: settled,
      processor: capacity,
      processor_ratio: round(capacity.settled_per_second / raw.conditional_writes.per_second),
      processor_ratio_to_get_then_write: round(capacity.settled_per_second / raw.get_then_conditional_write.per_second),
      raw_callers: callers,
      raw_callers_from: [PROCESSOR_CONCURRENCY.from, BATCH_SIZE.from],
      raw,
      raw_writes_per_second: raw.conditional_writes.per_second,
      settlement_ratio: settled ? round(settled / raw.conditional_writes.per_second) : null,
      settlement_ratio_to_get_then_write: settled ? round(settled / raw.get_then_conditional_write.per_second) : null,
    };
    console.log("settlement vs raw dynalite", results.settlement_vs_dynalite);
  } finally {
    await child.stop();
  }
}

/**
 * The processor's own speed (bench/settlement.ts, in its own process): 2,000 orders accepted first with the processor
 * stopped, then the processor started and timed until every unit is sold. The accepted-orders figure above is bounded
 * by how fast the orders arrive; this one is not.
 */
async function processorCapacity(): Promise<{ orders: number; loops: number; batches: number; seconds: number; settled_per_second: number }> {
  const child = launch("bench/settlement.ts", ["2000", String(PROCESSOR_CONCURRENCY.value)], {
    POWERTOOLS_METRICS_DISABLED: "true",
    POWERTOOLS_LOG_LEVEL: "ERROR",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  });
  try {
    await waitForOutput(child, '"settled_per_second"', 120_000);
    // It stops its engine (and that engine's redis-server) itself after printing: let it, rather than interrupt it.
    await new Promise((r) => (child.process.exitCode !== null ? r(null) : child.process.once("exit", r)));
    const line = child.output().split("\n").find((l) => l.startsWith('{"orders"'));
    if (!line) throw new Error(`settlement printed no result:\n${child.output()}`);
    return JSON.parse(line);
  } finally {
    await child.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The report.

function markdown(): string {
  const r = results;
  const c = r.redis_commands_per_request;
  const n = fmtInt;
  const row = mdRow;
  const http = httpRow;
  const bare = r.floors.bare;
  const ev = r.floors.bare_evalsha;
  const q = r.queue_down as any;
  const sv = r.settlement_vs_dynalite as any;
  const total = (x: CommandCounts | undefined) => (x ? String(x.total) : "—");
  return [
    `## What the local HTTP path costs (one run, ${r.when.slice(0, 16).replace("T", " ")} UTC, Node ${r.node}, autocannon -c ${r.connections}, ${r.duration_s} s)`,
    "",
    `${r.cores} cores; 1-minute load average ${r.load_average.start} at the start, ${r.load_average.end} at the end. Compare ratios within this run only.` +
      ` The load generator (autocannon, in the bench process) used ${bare?.load_generator_cpu_percent} % of a core during the bare floor and` +
      ` ${ev?.load_generator_cpu_percent} % during the EVALSHA floor: near 100 %, a floor measures the client, not the server.`,
    "",
    ...HTTP_TABLE_HEADER,
    http("bare Node server: parse JSON, answer 410", bare && { ...bare, ratio_to_bare: 1, ratio_to_bare_evalsha: round(bare.requests_per_second / ev.requests_per_second) }, total(bare?.redis_commands_per_request)),
    http("bare Node + 1 EVALSHA (HGET of a stock field), 410", ev ? { ...ev, ratio_to_bare: round(ev.requests_per_second / bare.requests_per_second), ratio_to_bare_evalsha: 1 } : undefined, total(ev?.redis_commands_per_request)),
    http("`POST /buy`, sold out, near-cache warm (one item, default settings)", r.http.sold_out_warm, total(c.sold_out_warm)),
    http("`POST /buy`, sold out, near-cache off (`SOLD_OUT_CACHE_MS=0`)", r.http.sold_out_cold, total(c.sold_out_cold)),
    http("flash crowd: 20,000 distinct buyers for 100 units", r.http.flash_crowd, "—"),
    http("accepted orders (2,000 units, 50 connections)", r.http.accepted_orders, c.accepted_buy && c.settlement ? `${c.accepted_buy.total} + ${c.settlement.total} settlement` : "—"),
    http("`POST /buy` while the queue's circuit breaker is open (503)", r.http.queue_down_503, total(c.queue_down_503)),
    "",
    "## Redis commands per request, by path and script",
    "",
    `MONITOR, commands run inside Lua excluded; ${r.sequential_requests_per_count} sequential requests per path (${c.accepted_buy?.requests ?? "—"} for the accepted buy and its settlement).`,
    "",
    "| path | commands per request | by script or command |",
    "|---|---:|---|",
    ...(
      [
        ["bare Node + 1 EVALSHA (checks the counter)", r.floors.bare_evalsha?.redis_commands_per_request],
        ["sold out, near-cache warm (one item, repeated)", c.sold_out_warm],
        ["sold out, near-cache off (`SOLD_OUT_CACHE_MS=0`)", c.sold_out_cold],
        ["sold out, a fresh item per request (default settings)", c.sold_out_fresh_item],
        ["accepted buy (the buy call, to its 202)", c.accepted_buy],
        ["its settlement (processor)", c.settlement],
        ["duplicate of an accepted request (409)", c.duplicate],
        ["buy while the queue's breaker is open (503)", c.queue_down_503],
      ] as [string, CommandCounts | undefined][]
    ).map(([name, x]) => row([name, x?.total, x ? Object.entries(x.by_script).map(([k, v]) => `${k} ${v}`).join(", ") || "none" : undefined])),
    "",
    "## The queue does not answer (SQS endpoint accepts TCP, never replies)",
    "",
    "| measure | value |",
    "|---|---|",
    row(["settings", `AWS_CALL_TIMEOUT_MS ${q.aws_call_timeout_ms}, breaker opens after ${q.breaker_failure_threshold} failures, open ${q.breaker_open_seconds} s`]),
    row([`first ${q.first_buys?.concurrent} buys, sent at once`, `${JSON.stringify(q.first_buys?.statuses)} after ${q.first_buys?.ms?.join(", ")} ms`]),
    row(["time to the first 503", `${q.first_503_after_ms} ms`]),
    row([`breaker open, ${q.open?.sequential_requests} sequential buys`, `${JSON.stringify(q.open?.statuses)}, Retry-After ${q.open?.retry_after_s} s`]),
    row(["503 latency while open (client side, fetch included)", `p50 ${q.open?.p50_ms} ms, p99 ${q.open?.p99_ms} ms, max ${q.open?.max_ms} ms`]),
    row(["breaker state at the end (`/health`)", q.breaker_state_at_end]),
    row(["item levels before → after", `stock ${q.levels_before?.stock}, in_flight ${q.levels_before?.in_flight} → stock ${q.levels_after?.stock}, in_flight ${q.levels_after?.in_flight}`]),
    row(["nothing held", q.nothing_held ? "yes" : "**no**"]),
    "",
    "## Settlement against raw dynalite",
    "",
    "| measure | value |",
    "|---|---:|",
    row(["orders settled per second (2,000 accepted orders, first 202 to last sale)", n(sv.orders_settled_per_second)]),
    row([`raw conditional UpdateItem per second (${sv.raw_callers} callers, dynalite in the writer's process)`, n(sv.raw_writes_per_second)]),
    row(["**settlement_ratio** (settled / raw writes)", sv.settlement_ratio?.toFixed(2)]),
    row(["raw GetItem + conditional UpdateItem pairs per second (the processor's DynamoDB work per order)", n(sv.raw?.get_then_conditional_write?.per_second)]),
    row(["settled / raw pairs", sv.settlement_ratio_to_get_then_write?.toFixed(2)]),
    row([`the processor alone: ${n(sv.processor?.orders)} orders queued first, then settled by ${sv.processor?.loops} receive loops (orders per second)`, n(sv.processor?.settled_per_second)]),
    row(["**processor_ratio** (the processor alone / raw writes)", sv.processor_ratio?.toFixed(2)]),
    row(["the processor alone / raw pairs", sv.processor_ratio_to_get_then_write?.toFixed(2)]),
    "",
  ].join("\n");
}

async function main() {
  const cleanup = new Cleanup();
  try {
    const redis = await startRedisServer();
    cleanup.add("redis-server", redis.stop);

    results.floors.bare = await floor("bare", redis.url);
    console.log("floor: bare node 410", results.floors.bare);
    results.floors.bare_evalsha = await floor("evalsha", redis.url);
    console.log("floor: bare node + 1 EVALSHA", results.floors.bare_evalsha);
    const floors = { bare: results.floors.bare.requests_per_second, bare_evalsha: results.floors.bare_evalsha.requests_per_second };

    await defaultEngine(redis.url, floors);
    await rawDynalite(); // next to the settlement run it is compared with: the machine's load drifts
    await coldEngine(redis.url, floors);
    await queueDown(redis.url, floors);
  } finally {
    await cleanup.run();
  }

  results.load_average.end = round(loadavg()[0]!);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", JSON.stringify(results, null, 2) + "\n");
  const md = markdown();
  writeFileSync("bench/results/latest.md", md);
  console.log(`\n${md}`);
  console.log("written bench/results/latest.json and bench/results/latest.md");
}

await main();
