import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { initClients, runtime } from "@flash/core/runtime/wire";
import { logger } from "@flash/core/runtime/telemetry";
import { Http } from "./http";

// The AWS SDK clients this function uses, loaded at init: both, as it checks the queue and the orders table for real.
await initClients("sqs", "dynamodb");

/** GET /health: each dependency checked for real. */
export async function health(): Promise<Http.Result> {
  const { probes, queueBreaker } = runtime();
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => [name, await probe.check().then(() => "ok", () => "unavailable")] as const),
  );
  const healthy = entries.every(([, state]) => state === "ok");
  return Http.reply(healthy ? 200 : 503, {
    status: healthy ? "ok" : "degraded",
    ...Object.fromEntries(entries),
    // This execution environment's breaker around the queue: closed, open or half_open.
    circuit_breaker_state: queueBreaker.state,
  });
}

export const handler = middy(health).use(Http.correlationHeader()).use(injectLambdaContext(logger));
