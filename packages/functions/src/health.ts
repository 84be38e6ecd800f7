import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Api } from "@flash/core/api";
import { logger } from "@flash/core/telemetry";

/** GET /health */
export const handler = middy(Api.health).use(injectLambdaContext(logger));
