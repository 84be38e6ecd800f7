/**
 * What one invocation writes to CloudWatch Logs, in bytes, by path: the EMF document(s) Powertools prints at the end
 * of an invocation and the application's own log lines at the default level (INFO), measured by running the real
 * telemetry module (packages/core/src/runtime/telemetry.ts) with the same metric and log calls the handlers make
 * (packages/functions/src/http/buy.ts, queue/processor.ts). The Lambda platform's own lines (START, END, REPORT)
 * are not printed by the code and are not counted here: see LAMBDA_PLATFORM_LOG_BYTES in constants.ts.
 *
 *   npx tsx scripts/capacity/log-bytes.ts            (prints JSON; constants.ts LOG_BYTES cites its result)
 *
 * The calls below mirror the handlers as of the commit that added this script; test/unit/capacity.test.ts measures
 * again and fails when the constants drift from what telemetry.ts prints by more than a quarter.
 */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

export interface LogBytes {
  /** A sold-out refusal (door or near-cache): EMF only (the refusal is logged at DEBUG). */
  buyRefused: number;
  /** An accepted buy: EMF + the "order accepted" INFO line. */
  buyAccepted: number;
  /** A duplicate (409): EMF only. */
  buyDuplicate: number;
  /** One processor batch of `batchSize` orders of one item: EMF documents + one "order settled" INFO line each. */
  processorBatch: number;
  batchSize: number;
  /** A sweeper run that finds nothing overdue: the EMF document with OrdersExpired 0. */
  sweeperIdle: number;
}

/** A Lambda context shaped like the real one (names and ARNs of typical length), for the logger's context keys. */
function fakeContext(functionName: string, memoryMb: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/11/22/[$LATEST]${randomUUID().replace(/-/g, "")}`,
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

type Telemetry = typeof import("../../packages/core/src/runtime/telemetry");

/** A telemetry module of its own (a query string makes a new instance), built after the environment below is set. */
const freshTelemetry = async (): Promise<Telemetry> =>
  (await import(`../../packages/core/src/runtime/telemetry.ts?capacity=${Date.now()}`)) as Telemetry;

/**
 * Run each path's telemetry calls against a fresh telemetry module with metrics on and INFO logs, and count the bytes
 * printed. `load` builds that module (the tests pass one that resets vitest's module registry).
 */
export async function measureLogBytes(batchSize = 10, load: () => Promise<Telemetry> = freshTelemetry): Promise<LogBytes> {
  const saved = { ...process.env };
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
  process.env.POWERTOOLS_LOG_LEVEL = "INFO";
  process.env.POWERTOOLS_DEV = "false";
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const log = console.log;
  const info = console.info;
  const capture = (chunk: unknown) => (chunks.push(String(chunk)), true);
  try {
    const t = await load();
    const { Metric, rejectedMetric } = await import("../../packages/core/src/contract/metrics");
    t.useStage("production");
    const invocation = async (name: string, work: () => void): Promise<number> => {
      t.logger.addContext(fakeContext(name, 1024));
      chunks.length = 0;
      (process.stdout as { write: unknown }).write = capture;
      console.log = console.info = (...args: unknown[]) => void capture(args.map(String).join(" ") + "\n");
      try {
        work();
        t.metrics.publishStoredMetrics();
      } finally {
        (process.stdout as { write: unknown }).write = write;
        console.log = log;
        console.info = info;
      }
      return chunks.reduce((n, c) => n + Buffer.byteLength(c, "utf8"), 0);
    };
    const correlation = randomUUID();
    const refusal = (reason: "sold_out" | "duplicate_request") => () => {
      t.count(Metric.OrdersReceived);
      t.count(Metric.OrdersRejected);
      t.count(rejectedMetric(reason));
      t.loggerFor(correlation).debug("order rejected", { reason });
      t.milliseconds(Metric.BuyDuration, 0.734);
    };
    const buyRefused = await invocation("production-flash-sale-Buy", refusal("sold_out"));
    const buyDuplicate = await invocation("production-flash-sale-Buy", refusal("duplicate_request"));
    const buyAccepted = await invocation("production-flash-sale-Buy", () => {
      t.count(Metric.OrdersReceived);
      t.count(Metric.OrdersAccepted);
      t.loggerFor(correlation).info("order accepted", { request_id: randomUUID(), item_id: "sku-flash-0001", user_id: "user-0000123456" });
      t.milliseconds(Metric.BuyDuration, 12.345);
    });
    const processorBatch = await invocation("production-flash-sale-Processor", () => {
      for (let i = 0; i < batchSize; i++) {
        const log = t.loggerFor(randomUUID(), { message_id: randomUUID() });
        t.count(Metric.OrdersProcessed);
        t.count(Metric.OrdersCompleted);
        log.info("order settled", { request_id: randomUUID(), item_id: "sku-flash-0001", status: "COMPLETED" });
        t.milliseconds(Metric.ProcessingDuration, 23.456 + i);
      }
      t.inventoryRemaining("sku-flash-0001", 4321); // once per item per batch
    });
    const sweeperIdle = await invocation("production-flash-sale-Sweeper", () => t.count(Metric.OrdersExpired, 0));
    return { buyRefused, buyAccepted, buyDuplicate, processorBatch, batchSize, sweeperIdle };
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await measureLogBytes(), null, 2));
}
