import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { Api } from "@flash/core/api";
import { logger, metrics } from "@flash/core/telemetry";

/** POST /buy */
export const handler = middy(Api.buy).use(injectLambdaContext(logger)).use(logMetrics(metrics));
