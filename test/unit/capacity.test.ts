import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { getStageConfig, productionConfig } from "../../stacks/config";
import { ASSUMED, DEPLOYED, LOG_BYTES, PRICES, QUOTAS } from "../../scripts/capacity/constants";
import {
  availableBuyConcurrency,
  billedMs,
  binding,
  buyEnvironments,
  costLines,
  cpuStretch,
  doorCallsPerSecond,
  durations,
  ecpuPerCall,
  headroom,
  lambdaCost,
  lambdaMs,
  maxRateWithin,
  runModel,
  secondsToSettle,
  total,
  type CpuMs,
  type Inputs,
  type Mix,
} from "../../scripts/capacity/model";
import { readBench } from "../../scripts/capacity/bench";
import { runCapacity } from "../../scripts/capacity/cli";
import { measureLogBytes } from "../../scripts/capacity/log-bytes";

const ROOT = path.resolve(__dirname, "../..");
const CPU: CpuMs = { doorRefusal: 0.5, nearCacheRefusal: 0.3, accepted: 5, settlePerOrder: 5, coldImport: 300 };

const inputs = (over: Partial<Inputs> = {}): Inputs => ({
  rps: 20_000,
  stock: 5_000,
  requests: 1_000_000,
  acceptedShare: 0.005,
  duplicateShare: 0,
  stage: "production",
  config: productionConfig,
  cpu: CPU,
  ecpu: { kind: "floor" },
  metricNames: 32,
  alarms: 15,
  dashboards: 1,
  endpointAzs: 2,
  ...over,
});

describe("Lambda arithmetic", () => {
  it("stretches CPU below 1,769 MB and bills whole milliseconds, at least one", () => {
    expect(cpuStretch(1769)).toBe(1);
    expect(cpuStretch(3538)).toBe(1);
    expect(cpuStretch(1024)).toBeCloseTo(1769 / 1024, 12);
    // 0.5 ms of CPU at 1,024 MB (0.8638 ms) plus a 1 ms round trip
    expect(lambdaMs(0.5, 1024, 1)).toBeCloseTo(1.86377, 4);
    expect(billedMs(1.86377)).toBe(2);
    expect(billedMs(2)).toBe(2);
    expect(billedMs(2.0001)).toBe(3);
    expect(billedMs(0.2)).toBe(1);
  });

  it("prices a million 1 ms invocations at 1 GB as requests plus GB-seconds", () => {
    // $0.20 + 1,000,000 x 0.001 s x 1 GB x $0.0000133334
    expect(lambdaCost(1_000_000, 1, 1024)).toBeCloseTo(0.2 + 0.0133334, 10);
    expect(lambdaCost(0, 5, 1024)).toBe(0);
  });

  it("derives each path's duration from its CPU and the network waits it makes", () => {
    const d = durations(productionConfig, CPU);
    const stretch = 1769 / 1024;
    expect(d.nearCacheRefusal.ms).toBeCloseTo(0.3 * stretch, 9);
    expect(d.doorRefusal.ms).toBeCloseTo(0.5 * stretch + ASSUMED.redisRoundTripMs.value, 9);
    expect(d.accepted.ms).toBeCloseTo(5 * stretch + 2 * ASSUMED.redisRoundTripMs.value + ASSUMED.sqsSendMs.value, 9);
    expect(d.processorBatch.ms).toBeCloseTo(
      5 * 10 * stretch + ASSUMED.dynamoBatchGetMs.value + 2 * ASSUMED.redisRoundTripMs.value + ASSUMED.dynamoUpdateMs.value,
      9,
    );
    expect(d.nearCacheRefusal.billed).toBe(1);
  });
});

describe("the near-cache", () => {
  it("lets each environment ask the door at most once per SOLD_OUT_CACHE_MS", () => {
    expect(doorCallsPerSecond(10_000, 949, 250)).toBe(3_796);
    expect(doorCallsPerSecond(100, 949, 250)).toBe(100); // fewer requests than the environments could ask
    expect(doorCallsPerSecond(10_000, 949, 0)).toBe(10_000); // near-cache off: every refusal asks
  });

  it("counts the environments a cold start leaves, up to what is available", () => {
    expect(buyEnvironments(10, 280, 2, 949)).toBe(3); // 10/s x 0.282 s = 2.82
    expect(buyEnvironments(5_000, 280, 1.58, 949)).toBe(949);
  });
});

describe("cost", () => {
  const config = productionConfig;
  const d = durations(config, CPU);
  const e = ecpuPerCall({ kind: "floor" });
  const mix = (n: number): Mix => ({ requests: n, accepted: n * 0.01, duplicates: n * 0.02, doorRefusals: n * 0.37, nearCacheRefusals: n * 0.6 });

  it("scales linearly with requests, line by line", () => {
    const one = costLines(mix(1_000_000), config, d, e);
    const three = costLines(mix(3_000_000), config, d, e);
    expect(three.map((l) => l.item)).toEqual(one.map((l) => l.item));
    three.forEach((l, i) => expect(l.usd).toBeCloseTo(3 * one[i]!.usd, 12));
    expect(total(three)).toBeCloseTo(3 * total(one), 10);
  });

  it("and so does the whole model's table, at a fixed mix", () => {
    const a = runModel(inputs({ requests: 1_000_000 }));
    const b = runModel(inputs({ requests: 2_000_000 }));
    expect(b.cost.perRequestsTotal).toBeCloseTo(2 * a.cost.perRequestsTotal, 10);
    expect(b.cost.perThousandOrdersTotal).toBe(a.cost.perThousandOrdersTotal);
  });

  it("prices 1,000 settled orders by hand", () => {
    const lines = costLines({ requests: 1000, accepted: 1000, duplicates: 0, doorRefusals: 0, nearCacheRefusals: 0 }, config, d, e);
    const line = (item: string) => lines.find((l) => l.item.startsWith(item))!;
    expect(line("HTTP API").usd).toBeCloseTo(0.001, 12); // 1,000 x $1/M
    expect(line("writes").quantity).toBe(2000); // the order and its by_item entry
    expect(line("writes").usd).toBeCloseTo(2000 * 0.625e-6, 12);
    expect(line("reads").quantity).toBe(1000); // its key in the batch's BatchGetItem
    expect(line("ECPUs").quantity).toBe(4000); // door, registry, reserve, settle
    expect(line("send, receive").quantity).toBe(1000 + 2 * 100); // a send each, a receive and a delete per batch of 10
    expect(line(`processor`).quantity).toBe(100);
    expect(line(`processor`).usd).toBeCloseTo(lambdaCost(100, d.processorBatch.billed, 1024), 12);
  });

  it("prices a million sold-out refusals from the near-cache: API, Lambda, logs, data out, no Redis", () => {
    const lines = costLines({ requests: 1e6, accepted: 0, duplicates: 0, doorRefusals: 0, nearCacheRefusals: 1e6 }, config, d, e);
    const line = (item: string) => lines.find((l) => l.item.startsWith(item))!;
    expect(line("HTTP API").usd).toBeCloseTo(PRICES.apiHttpPerMillion.value, 12);
    expect(line("buy requests").usd).toBeCloseTo(PRICES.lambdaRequestPerMillion.value, 12);
    expect(line("buy duration").quantity).toBeCloseTo(1e6 * 0.001 * 1, 9); // 1 billed ms at 1 GB
    expect(line("ECPUs").usd).toBe(0);
    expect(line("writes").usd).toBe(0);
    const gb = (1e6 * (ASSUMED.apiAccessLogBytes.value + ASSUMED.lambdaPlatformLogBytes.value + LOG_BYTES.buyRefused.value)) / 1024 ** 3;
    expect(line("logs ingested").usd).toBeCloseTo(gb * 0.5, 12);
  });

  it("counts ECPUs by the floor, by the commands inside the scripts, or flat", () => {
    expect(ecpuPerCall({ kind: "floor" })).toEqual({ doorRefusal: 1, doorAccept: 1, registry: 1, duplicate: 1, reserve: 1, settle: 1 });
    expect(ecpuPerCall({ kind: "commands" }).doorAccept).toBe(15);
    expect(ecpuPerCall({ kind: "flat", perCall: 3 })).toMatchObject({ doorRefusal: 3, registry: 1 });
  });
});

describe("limits", () => {
  it("binds on the smallest headroom", () => {
    const limits = [
      { id: "a", headroom: 2 },
      { id: "b", headroom: 0.5 },
      { id: "c", headroom: 0.75 },
    ];
    expect(binding(limits)?.id).toBe("b");
    expect(binding([])).toBeUndefined();
    expect(headroom(10, 0)).toBe(Infinity);
    expect(headroom(10_000, 20_000)).toBe(0.5);
  });

  it("finds the highest rate within a capacity", () => {
    expect(maxRateWithin((r) => 2 * r, 100)).toBeCloseTo(50, 6);
    expect(maxRateWithin((r) => Math.min(r, 5), 10)).toBe(Infinity);
  });

  it("gives the buy function the account's concurrency less what the stage reserves", () => {
    expect(availableBuyConcurrency(productionConfig)).toBe(1000 - 50 - 1);
    expect(availableBuyConcurrency(getStageConfig("staging"))).toBe(1000 - 10 - 1);
  });

  it("at 20,000 offered/s on production: Lambda's 10 requests per environment bind first, then API Gateway, and the stage throttle before both", () => {
    const m = runModel(inputs());
    const sustainedQuotas = m.limits.filter((l) => l.phase === "sustained" && l.kind === "aws-quota");
    expect(m.bindingQuota.headroom).toBe(Math.min(...sustainedQuotas.map((l) => l.headroom)));
    expect(m.bindingQuota.id).toBe("lambda-rps");
    expect(m.peakRps).toBe(10 * 949);
    const api = m.limits.find((l) => l.id === "api-rate")!;
    expect(api.headroom).toBe(0.5);
    expect(api.maxRps).toBe(10_000);
    expect(m.bindingOverall.id).toBe("stage-api");
    expect(m.servedRps).toBe(5_000);
    // A limit's headroom is its max rate over the offered rate.
    for (const l of m.limits.filter((x) => x.phase === "sustained")) expect(l.headroom).toBeCloseTo(l.maxRps! / 20_000, 9);
  });

  it("settles a single item no faster than its by_item partition takes writes", () => {
    const m = runModel(inputs());
    expect(m.settlement.binding).toMatch(/by_item/);
    // 5,000 orders arriving at 5,000/s, settled at 1,000/s: about 5 s
    expect(m.phases.settleSeconds).toBeGreaterThan(5);
    expect(m.phases.settleSeconds).toBeLessThan(5.5);
  });

  it("ramps the mapping from 5 batches by 300 a minute", () => {
    // 100 orders waiting, 100 orders/s per batch slot: 500 t + 250 t^2 = 100 gives t = 0.193 s
    expect(secondsToSettle(100, 1e9, 100, 50, Infinity)).toBeCloseTo(0.193, 2);
    expect(secondsToSettle(0, 1, 1, 1, 1)).toBe(0);
  });
});

describe("bench results, read defensively", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capacity-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, json: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(json));
    return file;
  };
  const bundles = write("bundles.json", { rows: [{ handler: "http/buy", cold_import_cpu_ms_median: 160 }] });

  it("reads the first runs' shape", () => {
    const b = readBench(write("old.json", { sold_out: { requests_per_second: 2000 }, accepted_orders: { requests_per_second: 250, orders_settled_per_second: 200 } }), bundles);
    expect(b.doorRefusal).toMatchObject({ ms: 0.5, status: "measured" });
    expect(b.nearCacheRefusal.ms).toBe(0.5); // no warm figure: the door's, an upper bound
    expect(b.accepted.ms).toBe(4);
    expect(b.settlePerOrder.ms).toBe(5);
    expect(b.coldImport.ms).toBe(160);
  });

  it("prefers the later shape, and takes the warm figure only from a run whose near-cache answered", () => {
    const later = {
      http: { sold_out_cold: { requests_per_second: 4000 }, sold_out_warm: { requests_per_second: 8000 }, accepted_orders: { requests_per_second: 200, orders_settled_per_second: 100 } },
      redis_commands_per_request: { sold_out_warm: { total: 0.01 }, sold_out_cold: { total: 1 } },
    };
    const b = readBench(write("new.json", later), bundles);
    expect(b.doorRefusal.ms).toBe(0.25);
    expect(b.nearCacheRefusal).toMatchObject({ ms: 0.125, status: "measured" });
    expect(b.redisCounts.soldOut).toBe(1);
    const predates = { ...later, redis_commands_per_request: { sold_out_warm: { total: 2 } } };
    expect(readBench(write("predates.json", predates), bundles).nearCacheRefusal.ms).toBe(0.25);
  });

  it("falls back, and says so, when a file or a field is missing", () => {
    const b = readBench(path.join(dir, "none.json"), path.join(dir, "none-bundles.json"));
    for (const f of [b.doorRefusal, b.nearCacheRefusal, b.accepted, b.settlePerOrder, b.coldImport]) expect(f.status).toBe("assumption");
    expect(b.notes.join()).toMatch(/missing/);
    expect(readBench(write("odd.json", { sold_out: { requests_per_second: "fast" } }), bundles).doorRefusal.status).toBe("assumption");
  });
});

describe("npm run capacity", () => {
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCapacity(argv, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: ROOT });
    return { code, out: out.join("\n"), err };
  };

  it("refuses a bad flag with one line and the usage, exit 2", async () => {
    for (const argv of [["--rsp", "1"], ["--rps", "-5"], ["--accepted-share", "1.5"], ["--ecpu", "lots"], ["positional"]]) {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.err[0]).toMatch(/^error: /);
      expect(r.err[0]!.split("\n")).toHaveLength(1);
      expect(r.err[1]).toMatch(/^usage: npm run capacity/);
    }
  });

  it("prints its usage with --help, exit 0", async () => {
    const r = await run("--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--rps <n>/);
  });

  it("prints a table, and the same model as JSON", async () => {
    const table = await run("--rps", "20000", "--stock", "5000");
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/Peak one account sustains on default quotas: 9,490 POST \/buy\/s/);
    const json = await run("--rps", "20000", "--stock", "5000", "--json");
    const parsed = JSON.parse(json.out);
    expect(parsed.model.bindingQuota.id).toBe("lambda-rps");
    expect(parsed.model.inputs).toMatchObject({ rps: 20000, stock: 5000, requests: 1000000, acceptedShare: 0.005 });
    expect(parsed.figures.PRICES.apiHttpPerMillion.status).toBe("third-party");
  });
});

describe("the constants still describe the code", () => {
  it("LOG_BYTES is within a quarter of what telemetry.ts prints today", async () => {
    const measured = await measureLogBytes(10, async () => {
      vi.resetModules();
      return import("../../packages/core/src/runtime/telemetry");
    });
    const near = (constant: number, now: number) => expect(Math.abs(now - constant) / constant).toBeLessThan(0.25);
    near(LOG_BYTES.buyRefused.value, measured.buyRefused);
    near(LOG_BYTES.buyAccepted.value, measured.buyAccepted);
    near(LOG_BYTES.buyDuplicate.value, measured.buyDuplicate);
    near(LOG_BYTES.processorBatchOf10.value, measured.processorBatch);
    near(LOG_BYTES.sweeperIdle.value, measured.sweeperIdle);
  });

  it("DEPLOYED counts what the stacks create", () => {
    const monitoring = fs.readFileSync(path.join(ROOT, "stacks/Monitoring.ts"), "utf8");
    // The model prices an SQS stage: every alarm but the Kafka transport's, which only MSK stages create.
    const kafkaAlarms = monitoring.match(/\balarm\("(ConsumerOffsetLag|ConsumerTimeLag|DeadLetterTopic\w+)"/g)?.length ?? 0;
    expect(kafkaAlarms).toBe(4);
    expect((monitoring.match(/\balarm\("/g)?.length ?? 0) - kafkaAlarms).toBe(DEPLOYED.alarms.value);
    expect(monitoring.match(/new cw\.Dashboard\(/g)?.length).toBe(DEPLOYED.dashboards.value);
    // The access log line ASSUMED.apiAccessLogBytes sizes has the 15 fields of ACCESS_LOG_FORMAT.
    const api = fs.readFileSync(path.join(ROOT, "stacks/Api.ts"), "utf8");
    const format = api.slice(api.indexOf("ACCESS_LOG_FORMAT = JSON.stringify({"), api.indexOf("});", api.indexOf("ACCESS_LOG_FORMAT")));
    expect(format.match(/"\$context\./g)?.length).toBe(15);
    const network = fs.readFileSync(path.join(ROOT, "stacks/Network.ts"), "utf8");
    expect(network).toContain(`maxAzs: ${DEPLOYED.endpointAzs.value}`);
    expect(network.match(/addInterfaceEndpoint\(/g)?.length).toBe(1);
  });

  it("the quotas the stage config checks against are the ones the model uses", () => {
    expect(QUOTAS.apiRatePerSecond.value).toBe(productionConfig.accountQuotas.apiRatePerSecond);
    expect(QUOTAS.lambdaConcurrency.value).toBe(productionConfig.accountQuotas.lambdaConcurrency);
  });
});
