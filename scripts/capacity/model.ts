/**
 * The capacity model: what a sale costs and how far one account scales. Pure arithmetic on the figures of
 * constants.ts, the stage config (stacks/config.ts) and the bench's per-request CPU times (bench.ts); no I/O.
 * docs/capacity.md explains every step; test/unit/capacity.test.ts checks the arithmetic.
 */
import { reservedConcurrency, type LogRetention, type StageConfig } from "../../stacks/config";
import {
  ASSUMED,
  DYNAMO,
  HOURS_PER_MONTH,
  LOG_BYTES,
  PRICES,
  QUOTAS,
  SCRIPT_COMMANDS,
  SQS,
  type Status,
} from "./constants";

export const GIB = 1024 ** 3;
const MILLION = 1_000_000;

/** How many ECPUs one Redis call costs: the documented floor (1), the commands the script runs inside, or a flat n. */
export type EcpuMode = { kind: "floor" } | { kind: "commands" } | { kind: "flat"; perCall: number };

export interface CpuMs {
  /** ms of CPU per request on the bench machine (bench.ts): a sold-out buy that asks the door... */
  doorRefusal: number;
  /** ...one answered from the near-cache... */
  nearCacheRefusal: number;
  /** ...an accepted buy... */
  accepted: number;
  /** ...one order in the processor... */
  settlePerOrder: number;
  /** ...and importing the buy bundle at a cold start. */
  coldImport: number;
}

export interface Inputs {
  /** POST /buy per second offered by the crowd. */
  rps: number;
  /** Units on sale, one per accepted buy. */
  stock: number;
  /** Requests the cost table prices (1,000,000 for "per 1M"). */
  requests: number;
  /** Share of the priced requests that are accepted (the rest refused), 0..1. */
  acceptedShare: number;
  /** Share that repeat an accepted request (409 from the door and DynamoDB), 0..1. */
  duplicateShare: number;
  stage: string;
  config: StageConfig;
  cpu: CpuMs;
  ecpu: EcpuMode;
  /** Custom metric names the code can emit (contract/metrics.ts ALL_METRICS), for the metrics line. */
  metricNames: number;
  /** Alarms and dashboards the stage deploys (stacks/Monitoring.ts). */
  alarms: number;
  dashboards: number;
  /** Availability zones with an SQS interface endpoint (stacks/Network.ts maxAzs). */
  endpointAzs: number;
}

// ------------------------------------------------------------------------------------------------------------
// Lambda durations
// ------------------------------------------------------------------------------------------------------------

/** How much slower CPU work runs at this memory size than on one full vCPU (1 at 1,769 MB and above). */
export function cpuStretch(memoryMb: number): number {
  return Math.max(1, QUOTAS.lambdaFullVcpuMb.value / memoryMb) * ASSUMED.localCorePerLambdaVcpu.value;
}

/** Run time of an invocation: its CPU, stretched to the function's share of a vCPU, plus the waits on the network. */
export function lambdaMs(cpuMsLocal: number, memoryMb: number, ioMs: number): number {
  return cpuMsLocal * cpuStretch(memoryMb) + ioMs;
}

/** Lambda bills duration rounded up to the millisecond. */
export function billedMs(ms: number): number {
  return Math.max(1, Math.ceil(ms - 1e-9));
}

/** Cost of invocations of a function: requests plus GB-seconds of billed duration. */
export function lambdaCost(invocations: number, billed: number, memoryMb: number): number {
  return invocations * (PRICES.lambdaRequestPerMillion.value / MILLION + (billed / 1000) * (memoryMb / 1024) * PRICES.lambdaArmGbSecond.value);
}

export interface Durations {
  /** Run time (ms) and billed ms of each path. */
  nearCacheRefusal: { ms: number; billed: number };
  doorRefusal: { ms: number; billed: number };
  accepted: { ms: number; billed: number };
  duplicate: { ms: number; billed: number };
  /** One processor invocation with a full batch. */
  processorBatch: { ms: number; billed: number };
  /** The INIT of a new buy environment (billed since 2025-08-01 for on-demand ZIP functions on managed runtimes). */
  buyColdStart: { ms: number; billed: number };
}

export function durations(config: StageConfig, cpu: CpuMs): Durations {
  const buy = config.apiFunctions.memoryMb;
  const rtt = ASSUMED.redisRoundTripMs.value;
  const batch = config.processor.batchSize;
  const at = (ms: number) => ({ ms, billed: billedMs(ms) });
  return {
    nearCacheRefusal: at(lambdaMs(cpu.nearCacheRefusal, buy, 0)),
    doorRefusal: at(lambdaMs(cpu.doorRefusal, buy, rtt)),
    accepted: at(lambdaMs(cpu.accepted, buy, 2 * rtt + ASSUMED.sqsSendMs.value)),
    duplicate: at(lambdaMs(cpu.doorRefusal, buy, rtt + ASSUMED.dynamoGetMs.value)),
    // The batch's records run concurrently: one BatchGetItem, one pipelined write per Redis step, updates side by side.
    processorBatch: at(
      lambdaMs(cpu.settlePerOrder * batch, config.processor.memoryMb, ASSUMED.dynamoBatchGetMs.value + 2 * rtt + ASSUMED.dynamoUpdateMs.value),
    ),
    buyColdStart: at(lambdaMs(cpu.coldImport, buy, 0)),
  };
}

// ------------------------------------------------------------------------------------------------------------
// ECPUs
// ------------------------------------------------------------------------------------------------------------

export interface EcpuPerCall {
  doorRefusal: number;
  doorAccept: number;
  registry: number;
  duplicate: number;
  reserve: number;
  settle: number;
}

export function ecpuPerCall(mode: EcpuMode): EcpuPerCall {
  if (mode.kind === "commands") {
    return {
      doorRefusal: SCRIPT_COMMANDS.doorRefusal.value,
      doorAccept: SCRIPT_COMMANDS.doorAccept.value,
      registry: SCRIPT_COMMANDS.registry.value,
      duplicate: SCRIPT_COMMANDS.duplicate.value,
      reserve: SCRIPT_COMMANDS.reserve.value,
      settle: SCRIPT_COMMANDS.settle.value,
    };
  }
  const n = mode.kind === "flat" ? mode.perCall : 1;
  return { doorRefusal: n, doorAccept: n, registry: 1, duplicate: n, reserve: n, settle: n };
}

// ------------------------------------------------------------------------------------------------------------
// The near-cache: how many sold-out buys still reach the door
// ------------------------------------------------------------------------------------------------------------

/** Buy environments the sale's start leaves warm: every cold start takes its INIT plus a request, up to the concurrency. */
export function buyEnvironments(servedRps: number, coldStartMs: number, requestMs: number, available: number): number {
  return Math.min(available, Math.ceil((servedRps * (coldStartMs + requestMs)) / 1000));
}

/** Door calls per second for sold-out buys: each environment asks at most once per SOLD_OUT_CACHE_MS per item. */
export function doorCallsPerSecond(soldOutRps: number, environments: number, soldOutCacheMs: number): number {
  if (soldOutCacheMs <= 0) return soldOutRps;
  return Math.min(soldOutRps, environments * (1000 / soldOutCacheMs));
}

// ------------------------------------------------------------------------------------------------------------
// Cost
// ------------------------------------------------------------------------------------------------------------

export interface CostLine {
  service: string;
  item: string;
  /** Quantity and its unit, e.g. 1,000,000 requests. */
  quantity: number;
  unit: string;
  usd: number;
}

export interface Mix {
  requests: number;
  accepted: number;
  duplicates: number;
  doorRefusals: number;
  nearCacheRefusals: number;
}

const RETENTION_MONTHS: Record<LogRetention, number> = {
  one_week: 7 / 30.4,
  two_weeks: 14 / 30.4,
  one_month: 1,
  three_months: 3,
  six_months: 6,
  one_year: 12,
};

/** The cost lines of a mix of requests: every line is a sum of count x unit price, so it scales with the counts. */
export function costLines(mix: Mix, config: StageConfig, d: Durations, e: EcpuPerCall): CostLine[] {
  const buyMb = config.apiFunctions.memoryMb;
  const procMb = config.processor.memoryMb;
  const batches = mix.accepted / config.processor.batchSize; // full batches: a sale's orders arrive far faster than a batch a second
  const refusals = mix.doorRefusals + mix.nearCacheRefusals;
  const buyGbSeconds =
    (mix.nearCacheRefusals * d.nearCacheRefusal.billed +
      mix.doorRefusals * d.doorRefusal.billed +
      mix.accepted * d.accepted.billed +
      mix.duplicates * d.duplicate.billed) /
    1000 *
    (buyMb / 1024);
  const sqsRequests = mix.accepted * SQS.sendPerAccepted.value + batches * (SQS.receivePerBatch.value + SQS.deletePerBatch.value);
  const rru = mix.accepted * DYNAMO.settleReadRru.value + mix.duplicates * DYNAMO.duplicateReadRru.value;
  const wru = mix.accepted * (DYNAMO.settleTableWru.value + DYNAMO.settleIndexWru.value);
  const ecpus =
    mix.doorRefusals * e.doorRefusal +
    mix.accepted * (e.doorAccept + e.registry + e.reserve + e.settle) +
    mix.duplicates * e.duplicate;
  const platform = ASSUMED.lambdaPlatformLogBytes.value;
  const logBytes =
    mix.requests * ASSUMED.apiAccessLogBytes.value +
    refusals * (platform + LOG_BYTES.buyRefused.value) +
    mix.accepted * (platform + LOG_BYTES.buyAccepted.value) +
    mix.duplicates * (platform + LOG_BYTES.buyDuplicate.value) +
    batches * (platform + (LOG_BYTES.processorBatchOf10.value * config.processor.batchSize) / 10);
  const logGb = logBytes / GIB;
  const recordGbMonths = ((mix.accepted * DYNAMO.recordBytes.value) / GIB) * (config.app.orderRetentionDays / 30.4);
  const outGb = (mix.requests * ASSUMED.responseBytes.value) / GIB;
  return [
    { service: "API Gateway", item: "HTTP API requests", quantity: mix.requests, unit: "requests", usd: (mix.requests * PRICES.apiHttpPerMillion.value) / MILLION },
    { service: "Lambda", item: `buy requests (${buyMb} MB arm64)`, quantity: mix.requests, unit: "invocations", usd: (mix.requests * PRICES.lambdaRequestPerMillion.value) / MILLION },
    { service: "Lambda", item: "buy duration", quantity: buyGbSeconds, unit: "GB-s", usd: buyGbSeconds * PRICES.lambdaArmGbSecond.value },
    { service: "Lambda", item: `processor (${procMb} MB, batches of ${config.processor.batchSize})`, quantity: batches, unit: "invocations", usd: lambdaCost(batches, d.processorBatch.billed, procMb) },
    { service: "SQS", item: "send, receive, delete", quantity: sqsRequests, unit: "requests", usd: (sqsRequests * PRICES.sqsStandardPerMillion.value) / MILLION },
    { service: "DynamoDB", item: "reads (settlement, duplicates)", quantity: rru, unit: "RRU", usd: (rru * PRICES.dynamoReadPerMillion.value) / MILLION },
    { service: "DynamoDB", item: "writes (order + by_item index)", quantity: wru, unit: "WRU", usd: (wru * PRICES.dynamoWritePerMillion.value) / MILLION },
    { service: "DynamoDB", item: `storage for ${config.app.orderRetentionDays} days`, quantity: recordGbMonths, unit: "GB-months", usd: recordGbMonths * PRICES.dynamoStorageGbMonth.value },
    { service: "ElastiCache", item: "ECPUs", quantity: ecpus, unit: "ECPU", usd: (ecpus * PRICES.valkeyEcpuPerMillion.value) / MILLION },
    { service: "CloudWatch", item: "logs ingested (access log, Lambda, EMF)", quantity: logGb, unit: "GB", usd: logGb * PRICES.logsIngestPerGb.value },
    { service: "CloudWatch", item: `logs kept ${config.logRetention.replace("_", " ")}`, quantity: logGb, unit: "GB", usd: logGb * PRICES.logsStorageGbMonth.value * RETENTION_MONTHS[config.logRetention] },
    { service: "Data transfer", item: "responses to the internet", quantity: outGb, unit: "GB", usd: outGb * PRICES.dataTransferOutPerGb.value },
  ];
}

export const total = (lines: readonly CostLine[]) => lines.reduce((sum, l) => sum + l.usd, 0);

/** Costs that do not grow with requests: a month of the stage standing by. */
export function fixedMonthly(input: Inputs): CostLine[] {
  const c = input.config;
  const sweeps = (HOURS_PER_MONTH * 60) / c.sweeper.rateMinutes;
  const idlePolls = SQS.idlePollers.value * (3600 / SQS.idlePollSeconds.value) * HOURS_PER_MONTH;
  const cacheGb = Math.max(PRICES.valkeyMinimumStorageGb.value, ASSUMED.cacheBaseGb.value);
  const endpointHours = input.endpointAzs * HOURS_PER_MONTH;
  const sweepLogGb = (sweeps * (ASSUMED.lambdaPlatformLogBytes.value + LOG_BYTES.sweeperIdle.value)) / GIB;
  return [
    { service: "VPC", item: `SQS interface endpoint, ${input.endpointAzs} AZs`, quantity: endpointHours, unit: "AZ-hours", usd: endpointHours * PRICES.interfaceEndpointAzHour.value },
    { service: "ElastiCache", item: "storage (the metered minimum)", quantity: cacheGb * HOURS_PER_MONTH, unit: "GB-hours", usd: cacheGb * HOURS_PER_MONTH * PRICES.valkeyStorageGbHour.value },
    { service: "SQS", item: "the mapping's long polls on an idle queue", quantity: idlePolls, unit: "requests", usd: (idlePolls * PRICES.sqsStandardPerMillion.value) / MILLION },
    { service: "Lambda", item: `sweeper every ${c.sweeper.rateMinutes} min (256 MB)`, quantity: sweeps, unit: "invocations", usd: lambdaCost(sweeps, ASSUMED.sweeperBilledMs.value, 256) },
    { service: "CloudWatch", item: "the sweeper's logs", quantity: sweepLogGb, unit: "GB", usd: sweepLogGb * PRICES.logsIngestPerGb.value },
    { service: "CloudWatch", item: "OrdersExpired, which every sweep publishes", quantity: 1, unit: "metric", usd: PRICES.customMetricMonth.value },
    { service: "CloudWatch", item: "alarms", quantity: input.alarms, unit: "alarms", usd: input.alarms * PRICES.alarmMonth.value },
    { service: "CloudWatch", item: "dashboard", quantity: input.dashboards, unit: "dashboards", usd: input.dashboards * PRICES.dashboardMonth.value },
  ];
}

// ------------------------------------------------------------------------------------------------------------
// Limits
// ------------------------------------------------------------------------------------------------------------

export type LimitKind = "aws-quota" | "stage-setting";
export type Phase = "sustained" | "sale-start" | "accepting" | "settlement";

export interface Limit {
  id: string;
  name: string;
  kind: LimitKind;
  phase: Phase;
  /** How much of the limit's own unit it allows, and how much the sale asks at the offered rate. */
  capacity: number;
  demand: number;
  unit: string;
  /**
   * Above 1 the limit holds, below 1 it refuses or throttles. Sustained limits: max rps / offered rps (how many times
   * the offered rate could grow before this limit binds; capacity / demand when demand grows in step with the rate).
   * The others: capacity / demand.
   */
  headroom: number;
  /** Highest offered POST /buy rate this limit sustains (Infinity: it never binds); sustained limits only. */
  maxRps?: number;
  status: Status;
  source: string;
  note?: string;
}

/** capacity / demand; a limit nothing asks of has infinite headroom. */
export function headroom(capacity: number, demand: number): number {
  return demand <= 0 ? Infinity : capacity / demand;
}

/**
 * The highest rate whose demand stays within capacity, for a demand that never falls as the rate grows:
 * bisection on [0, ceiling]. Infinity when even the ceiling fits.
 */
export function maxRateWithin(demand: (rps: number) => number, capacity: number, ceiling = 1e9): number {
  if (demand(ceiling) <= capacity) return Infinity;
  let lo = 0;
  let hi = ceiling;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, lo); i++) {
    const mid = (lo + hi) / 2;
    if (demand(mid) <= capacity) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The binding limit: the smallest headroom (ties: the first listed). */
export function binding<T extends { headroom: number }>(limits: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const l of limits) if (!best || l.headroom < best.headroom) best = l;
  return best;
}

/** Concurrency the buy function can use: the account's, less what the stage reserves (processor, sweeper). */
export function availableBuyConcurrency(config: StageConfig): number {
  return config.accountQuotas.lambdaConcurrency - reservedConcurrency(config);
}

export interface Settlement {
  /** Orders per second one batch slot settles, and the mapping at its MaximumConcurrency. */
  perBatchSlot: number;
  mappingMax: number;
  /** The tightest limit on settlement speed, in orders per second. */
  limits: { name: string; ordersPerSecond: number; status: Status; source: string }[];
  binding: string;
  /** Seconds from the first accepted order until the last is settled, the mapping's ramp included. */
  secondsToSettleStock: number;
}

/** Orders settled over time: the mapping starts at 5 batches and adds 300 a minute up to MaximumConcurrency. */
export function secondsToSettle(orders: number, acceptRate: number, perBatchSlot: number, maxBatches: number, capOrdersPerSecond: number): number {
  if (orders <= 0) return 0;
  const dt = 0.01;
  let t = 0;
  let done = 0;
  while (done < orders - 1e-9 && t < 86_400) {
    const slots = Math.min(maxBatches, QUOTAS.esmInitialBatches.value + (QUOTAS.esmScaleUpPerMinute.value * t) / 60);
    const rate = Math.min(slots * perBatchSlot, capOrdersPerSecond);
    const arrived = Math.min(orders, acceptRate * (t + dt));
    done = Math.min(arrived, done + rate * dt);
    t += dt;
  }
  return t;
}

export interface Model {
  inputs: Omit<Inputs, "config" | "cpu">;
  durations: Durations;
  ecpuPerCall: EcpuPerCall;
  /** The rate the buy function actually serves: the offered rate, cut to the tightest sustained limit. */
  servedRps: number;
  environments: { available: number; afterStart: number; steady: number };
  nearCache: { doorCallsPerSecond: number; doorCallsPerSecondSteady: number; doorShare: number };
  limits: Limit[];
  /** The tightest AWS default quota, and the tightest limit of all (stage settings included). */
  bindingQuota: Limit;
  bindingOverall: Limit;
  /** The highest POST /buy rate one account sustains on default quotas, with this stage's reservations. */
  peakRps: number;
  settlement: Settlement;
  phases: { acceptingSeconds: number; settleSeconds: number };
  cost: {
    mix: Mix;
    perRequests: CostLine[];
    perRequestsTotal: number;
    perThousandOrders: CostLine[];
    perThousandOrdersTotal: number;
    perSaleStart: CostLine[];
    fixedMonthly: CostLine[];
    fixedMonthlyTotal: number;
  };
}

export function runModel(input: Inputs): Model {
  const c = input.config;
  const d = durations(c, input.cpu);
  const e = ecpuPerCall(input.ecpu);
  const available = availableBuyConcurrency(c);
  const apiRate = c.accountQuotas.apiRatePerSecond;
  const soldOutShare = Math.max(0, 1 - input.acceptedShare - input.duplicateShare);

  // Environments and door calls at a given served rate, under the upper estimate that every environment the sale's
  // start created keeps taking its share of requests (docs/capacity.md, "The near-cache").
  const envsAt = (rps: number) => buyEnvironments(rps, d.buyColdStart.ms, d.doorRefusal.ms, available);
  const doorCallsAt = (rps: number) => doorCallsPerSecond(rps * soldOutShare, envsAt(rps), c.app.soldOutCacheMs);
  const meanBuyMsAt = (rps: number) => {
    const soldOut = rps * soldOutShare;
    const door = doorCallsAt(rps);
    const ms =
      door * d.doorRefusal.ms +
      (soldOut - door) * d.nearCacheRefusal.ms +
      rps * input.acceptedShare * d.accepted.ms +
      rps * input.duplicateShare * d.duplicate.ms;
    return rps > 0 ? ms / rps : d.doorRefusal.ms;
  };
  const slotEcpuAt = (rps: number) =>
    doorCallsAt(rps) * e.doorRefusal + rps * input.duplicateShare * e.duplicate + rps * input.acceptedShare * (e.doorAccept + e.reserve + e.settle);
  // The request_id registry lives in slots of its own (one key per request).
  const cacheEcpuAt = (rps: number) => slotEcpuAt(rps) + rps * input.acceptedShare * e.registry;

  const offered = input.rps;
  /** A demand of one per request: its limit binds exactly at its capacity. */
  const perRequest = (rps: number) => rps;
  const sustained = (
    id: string,
    name: string,
    kind: LimitKind,
    capacity: number,
    unit: string,
    demandAt: (rps: number) => number,
    status: Status,
    source: string,
    note?: string,
  ): Limit => {
    // Headroom of a sustained limit: how far the offered rate could grow before this limit binds. For a demand that
    // grows in step with the rate that is capacity / demand; for one that levels off (the near-cache) it is larger.
    const demand = demandAt(offered);
    const maxRps = demandAt === perRequest ? capacity : maxRateWithin(demandAt, capacity);
    return { id, name, kind, phase: "sustained", capacity, demand, unit, headroom: headroom(maxRps, offered), maxRps, status, source, note };
  };

  const limits: Limit[] = [
    sustained("api-rate", "API Gateway throttle rate (account, region)", "aws-quota", apiRate, "requests/s", perRequest, QUOTAS.apiRatePerSecond.status, QUOTAS.apiRatePerSecond.source,
      "shared by every API in the account and region: GET /items, GET /orders and other stages count too"),
    sustained("lambda-rps", "Lambda requests/s: 10 per execution environment", "aws-quota", QUOTAS.lambdaRpsPerEnvironment.value * available, "requests/s", perRequest,
      QUOTAS.lambdaRpsPerEnvironment.status, QUOTAS.lambdaRpsPerEnvironment.source,
      `${available} environments the buy function can have: ${c.accountQuotas.lambdaConcurrency} concurrency less ${reservedConcurrency(c)} the stage reserves (processor, sweeper); the other API functions share them`),
    sustained("lambda-concurrency", "Lambda concurrency (steady, unreserved)", "aws-quota", available, "environments", (r) => (r * meanBuyMsAt(r)) / 1000,
      QUOTAS.lambdaConcurrency.status, QUOTAS.lambdaConcurrency.source, "requests/s x mean buy duration"),
    sustained("cache-slot", "ElastiCache ECPU/s on the item's hash slot", "aws-quota", QUOTAS.cacheSlotEcpuPerSecond.value, "ECPU/s", slotEcpuAt,
      QUOTAS.cacheSlotEcpuPerSecond.status, QUOTAS.cacheSlotEcpuPerSecond.source,
      "sold-out storm: door calls (near-cache upper estimate) x ECPU per call; every key of one item is in one slot"),
    sustained("cache-total", "ElastiCache ECPU/s, serverless cache maximum", "aws-quota", QUOTAS.cacheMaxEcpuPerSecond.value, "ECPU/s", cacheEcpuAt,
      QUOTAS.cacheMaxEcpuPerSecond.status, QUOTAS.cacheMaxEcpuPerSecond.source),
    sustained("stage-api", `API throttle of stage "${input.stage}" (api.throttleRate)`, "stage-setting", c.api.throttleRate, "requests/s", perRequest, "config", "stacks/config.ts api.throttleRate"),
    sustained("stage-cache", `Cache ECPU/s limit of stage "${input.stage}" (cache.maxEcpuPerSecond)`, "stage-setting", c.cache.maxEcpuPerSecond, "ECPU/s", cacheEcpuAt, "config",
      "stacks/config.ts cache.maxEcpuPerSecond (CacheUsageLimits: ElastiCache throttles above it)"),
  ];

  const sustainedLimits = limits.filter((l) => l.phase === "sustained");
  const bindingQuota = binding(sustainedLimits.filter((l) => l.kind === "aws-quota"))!;
  const bindingOverall = binding(sustainedLimits)!;
  const peakRps = Math.min(...sustainedLimits.filter((l) => l.kind === "aws-quota").map((l) => l.maxRps!));
  const servedRps = Math.min(offered, ...sustainedLimits.map((l) => l.maxRps!));

  // The start of a sale: the API's token bucket, and environments that are all cold at once.
  const throttle = Math.min(apiRate, c.api.throttleRate);
  const burst = Math.min(c.accountQuotas.apiBurst, c.api.throttleBurst);
  const excess = Math.max(0, offered - throttle);
  limits.push({
    id: "api-burst", name: "API Gateway burst (token bucket)", kind: "aws-quota", phase: "sale-start", capacity: burst, demand: excess, unit: "requests above the rate, per second",
    headroom: headroom(burst, excess), status: QUOTAS.apiBurst.status, source: QUOTAS.apiBurst.source,
    note: excess > 0 ? `absorbs ${(burst / excess).toFixed(2)} s of the excess, then answers 429` : "the offered rate is within the throttle rate",
  });
  const envsNeeded = Math.ceil((servedRps * (d.buyColdStart.ms + d.doorRefusal.ms)) / 1000);
  const envsCanStart = Math.min(available, QUOTAS.lambdaScalingPer10s.value);
  limits.push({
    id: "lambda-cold", name: "Lambda cold starts at the sale's start", kind: "aws-quota", phase: "sale-start", capacity: envsCanStart, demand: envsNeeded, unit: "environments in the first second",
    headroom: headroom(envsCanStart, envsNeeded), status: QUOTAS.lambdaScalingPer10s.status, source: QUOTAS.lambdaScalingPer10s.source,
    note: `served rate x (INIT ${d.buyColdStart.ms.toFixed(0)} ms + a request); the scaling rate allows ${QUOTAS.lambdaScalingPer10s.value} per 10 s. Below 1: invocations throttled until the environments are warm, about one INIT long`,
  });

  // Accepting: every accepted buy runs the door's whole admission on the item's slot.
  const acceptSlotEcpu = servedRps * e.doorAccept;
  limits.push({
    id: "cache-slot-accepting", name: "ElastiCache ECPU/s on the item's slot while stock lasts", kind: "aws-quota", phase: "accepting", capacity: QUOTAS.cacheSlotEcpuPerSecond.value,
    demand: acceptSlotEcpu, unit: "ECPU/s", headroom: headroom(QUOTAS.cacheSlotEcpuPerSecond.value, acceptSlotEcpu), status: QUOTAS.cacheSlotEcpuPerSecond.status,
    source: QUOTAS.cacheSlotEcpuPerSecond.source, note: `for ${(input.stock / Math.max(1, servedRps)).toFixed(2)} s (stock / served rate)`,
  });

  // Settlement.
  const perBatchSlot = c.processor.batchSize / (d.processorBatch.ms / 1000);
  const mappingMax = c.processor.maxConcurrency * perBatchSlot;
  const perOrderWru = DYNAMO.settleTableWru.value;
  const settleLimits = [
    { name: `event source mapping at MaximumConcurrency ${c.processor.maxConcurrency}`, ordersPerSecond: mappingMax, status: "config" as Status, source: "stacks/config.ts processor.maxConcurrency x batchSize / batch duration" },
    { name: "DynamoDB by_item index: one item's partition", ordersPerSecond: QUOTAS.dynamoPartitionWruPerSecond.value / DYNAMO.settleIndexWru.value, status: QUOTAS.dynamoPartitionWruPerSecond.status, source: QUOTAS.dynamoPartitionWruPerSecond.source },
    { name: "DynamoDB new on-demand table", ordersPerSecond: QUOTAS.dynamoNewTableWruPerSecond.value / (perOrderWru + DYNAMO.settleIndexWru.value), status: QUOTAS.dynamoNewTableWruPerSecond.status, source: QUOTAS.dynamoNewTableWruPerSecond.source },
    { name: "DynamoDB on-demand table quota", ordersPerSecond: QUOTAS.dynamoTableWruPerSecond.value / perOrderWru, status: QUOTAS.dynamoTableWruPerSecond.status, source: QUOTAS.dynamoTableWruPerSecond.source },
    { name: "ElastiCache: settlement on the item's slot", ordersPerSecond: QUOTAS.cacheSlotEcpuPerSecond.value / (e.reserve + e.settle), status: QUOTAS.cacheSlotEcpuPerSecond.status, source: QUOTAS.cacheSlotEcpuPerSecond.source },
  ];
  const tightest = settleLimits.reduce((a, b) => (b.ordersPerSecond < a.ordersPerSecond ? b : a));
  // While stock lasts every served buy but a duplicate is accepted; the queue holds what settlement cannot take yet.
  const acceptRate = servedRps * (1 - input.duplicateShare);
  const settleSeconds = secondsToSettle(input.stock, acceptRate, perBatchSlot, c.processor.maxConcurrency, tightest.ordersPerSecond);
  settleLimits.forEach((s, i) => {
    // The mapping is asked for the arrival rate; what lies behind it sees at most what the mapping delivers.
    const demand = i === 0 ? acceptRate : Math.min(acceptRate, mappingMax);
    limits.push({
      id: `settle-${i}`, name: s.name, kind: s.status === "config" ? "stage-setting" : "aws-quota", phase: "settlement", capacity: s.ordersPerSecond,
      demand, unit: "orders/s", headroom: headroom(s.ordersPerSecond, demand), status: s.status, source: s.source,
      note: "below 1 the queue holds the orders longer: nothing is refused",
    });
  });

  // The mix the cost table prices, at the served rate.
  const environmentsAfterStart = envsAt(servedRps);
  // The fewest environments the served rate needs: requests in flight, and at most 10 requests/s each.
  const steadyEnvironments = Math.max(1, Math.ceil((servedRps * meanBuyMsAt(servedRps)) / 1000), Math.ceil(servedRps / QUOTAS.lambdaRpsPerEnvironment.value));
  const doorCalls = doorCallsAt(servedRps);
  const doorCallsSteady = doorCallsPerSecond(servedRps * soldOutShare, steadyEnvironments, c.app.soldOutCacheMs);
  const soldOutRps = servedRps * soldOutShare;
  const doorShare = soldOutRps > 0 ? doorCalls / soldOutRps : 1;
  const n = input.requests;
  const accepted = n * input.acceptedShare;
  const duplicates = n * input.duplicateShare;
  const soldOut = n - accepted - duplicates;
  const mix: Mix = { requests: n, accepted, duplicates, doorRefusals: soldOut * doorShare, nearCacheRefusals: soldOut * (1 - doorShare) };
  const perRequests = costLines(mix, c, d, e);
  const orders: Mix = { requests: 1000, accepted: 1000, duplicates: 0, doorRefusals: 0, nearCacheRefusals: 0 };
  const perThousandOrders = costLines(orders, c, d, e);

  // One-off costs of a sale's start and hour.
  const sale = c.app.rateLimitWindowSeconds * servedRps * ASSUMED.rateLimitKeyBytes.value;
  const saleCacheGb = ASSUMED.cacheBaseGb.value + sale / GIB;
  const extraGb = Math.max(0, saleCacheGb - PRICES.valkeyMinimumStorageGb.value);
  const perSaleStart: CostLine[] = [
    { service: "Lambda", item: `INIT of ${environmentsAfterStart} buy environments`, quantity: environmentsAfterStart, unit: "cold starts",
      usd: environmentsAfterStart * (d.buyColdStart.billed / 1000) * (c.apiFunctions.memoryMb / 1024) * PRICES.lambdaArmGbSecond.value },
    { service: "ElastiCache", item: `storage above the minimum for an hour (rate-limit windows: ~${(saleCacheGb * 1024).toFixed(0)} MB at the peak)`, quantity: extraGb, unit: "GB-hours",
      usd: extraGb * PRICES.valkeyStorageGbHour.value },
    { service: "CloudWatch", item: `${input.metricNames} custom metrics for the hour of the sale`, quantity: input.metricNames, unit: "metric-hours",
      usd: (input.metricNames * PRICES.customMetricMonth.value) / HOURS_PER_MONTH },
  ];
  const monthly = fixedMonthly(input);

  const { config: _config, cpu: _cpu, ...inputsOut } = input;
  return {
    inputs: inputsOut,
    durations: d,
    ecpuPerCall: e,
    servedRps,
    environments: { available, afterStart: environmentsAfterStart, steady: steadyEnvironments },
    nearCache: { doorCallsPerSecond: doorCalls, doorCallsPerSecondSteady: doorCallsSteady, doorShare },
    limits,
    bindingQuota,
    bindingOverall,
    peakRps,
    settlement: { perBatchSlot, mappingMax, limits: settleLimits, binding: tightest.name, secondsToSettleStock: settleSeconds },
    phases: { acceptingSeconds: input.stock / Math.max(1e-9, servedRps), settleSeconds },
    cost: {
      mix,
      perRequests,
      perRequestsTotal: total(perRequests),
      perThousandOrders,
      perThousandOrdersTotal: total(perThousandOrders),
      perSaleStart,
      fixedMonthly: monthly,
      fixedMonthlyTotal: total(monthly),
    },
  };
}
