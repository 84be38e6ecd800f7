import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Api } from "@flash/core/api";
import { logger } from "@flash/core/telemetry";

/** PUT and GET /admin/items/{item_id}; API Gateway checks IAM before this runs. */
export const handler = middy(Api.admin).use(injectLambdaContext(logger));
