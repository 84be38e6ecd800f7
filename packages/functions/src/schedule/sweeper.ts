import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { Sweeper } from "@flash/core/domain/sweeper";
import { Metric } from "@flash/core/contract/metrics";
import { initClients, runtime } from "@flash/core/runtime/wire";
import { count, logger, metrics } from "@flash/core/runtime/telemetry";

// The AWS SDK clients this function uses, loaded at init: DynamoDB (the order records), not SQS.
await initClients("dynamodb");

/** EventBridge schedule (stacks/Processor.ts); a timer in the local profile. Settles or releases overdue holds. */
export async function sweep(): Promise<{ expired: number; swept: number }> {
  const { config, ...deps } = runtime();
  const swept = await Sweeper.sweep(deps, {
    ttlSeconds: config.RESERVATION_TTL_SECONDS,
    retentionSeconds: config.QUEUE_RETENTION_SECONDS,
    staleMs: config.ADMISSION_TAKEOVER_MS,
    batchSize: config.SWEEP_BATCH_SIZE,
  });
  const expired = swept.filter((s) => s.outcome === "FAILED_EXPIRED").length;
  count(Metric.OrdersExpired, expired);
  if (swept.length) {
    logger.warn("overdue holds swept", { count: swept.length, expired, holds: swept.slice(0, 50).map((s) => `${s.request_id}:${s.outcome}`) });
  }
  return { expired, swept: swept.length };
}

export const handler = middy(sweep).use(injectLambdaContext(logger)).use(logMetrics(metrics));
