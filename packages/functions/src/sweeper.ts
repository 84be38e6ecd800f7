import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { runtime } from "@flash/core/runtime";
import { Sweeper } from "@flash/core/sweeper";
import { logger, metrics } from "@flash/core/telemetry";

/** EventBridge schedule (stacks/Processor.ts); a timer in the local profile. Releases expired reservations. */
export const handler = middy(async () => {
  const deps = runtime();
  const swept = await Sweeper.sweep(deps, {
    ttlSeconds: deps.config.RESERVATION_TTL_SECONDS,
    staleMs: deps.config.ADMISSION_TAKEOVER_MS,
    batchSize: deps.config.SWEEP_BATCH_SIZE,
  });
  const expired = swept.filter((s) => s.outcome === "FAILED_EXPIRED");
  if (swept.length) {
    logger.warn("overdue holds swept", { count: swept.length, expired: expired.length, holds: swept.slice(0, 50).map((s) => `${s.request_id}:${s.outcome}`) });
  }
  return { expired: expired.length, swept: swept.length };
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
