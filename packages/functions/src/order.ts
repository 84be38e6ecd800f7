import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Api } from "@flash/core/api";
import { logger } from "@flash/core/telemetry";

/** GET /orders/{request_id} */
export const handler = middy(Api.order).use(injectLambdaContext(logger));
