import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { runtime } from "@flash/core/runtime";
import { Sweeper } from "@flash/core/sweeper";
import { logger, metrics } from "@flash/core/telemetry";

/** EventBridge schedule (stacks/Processor.ts); a timer in the local profile. Releases expired reservations. */
export const handler = middy(async () => {
  const deps = runtime();
  const expired = await Sweeper.sweep(deps, { ttlSeconds: deps.config.RESERVATION_TTL_SECONDS, batchSize: deps.config.SWEEP_BATCH_SIZE });
  if (expired.length) logger.warn("reservations expired", { count: expired.length, request_ids: expired.slice(0, 50).map((e) => e.request_id) });
  return { expired: expired.length };
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
