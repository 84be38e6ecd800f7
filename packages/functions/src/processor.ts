import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { Processor } from "@flash/core/processor";
import { logger, metrics } from "@flash/core/telemetry";

/** SQS event source mapping with ReportBatchItemFailures. */
export const handler = middy(Processor.handle).use(injectLambdaContext(logger)).use(logMetrics(metrics));
