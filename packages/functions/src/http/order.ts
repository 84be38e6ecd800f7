import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Order } from "@flash/core/domain/order";
import { OrderLookup } from "@flash/core/domain/lookup";
import { DependencyUnavailableError, ValidationError } from "@flash/core/domain/errors";
import { initClients, runtime } from "@flash/core/runtime/wire";
import { logger } from "@flash/core/runtime/telemetry";
import { Http } from "./http";

// The AWS SDK clients this function uses, loaded at init: DynamoDB (the order record), not SQS.
await initClients("dynamodb");

/**
 * GET /orders/{request_id}: the order as its buyer sees it. With buyer identity on, only its buyer sees it: another
 * user's order is answered exactly as one that does not exist, so request ids cannot be probed.
 */
export async function order(event: Http.Event): Promise<Http.Result> {
  const correlation = Http.correlationId(event);
  const who = Http.buyer(event, runtime().config.AUTH_USER_CLAIM);
  const unidentified = Http.unidentified(who, correlation);
  if (unidentified) return unidentified;
  const requestId = Order.requestId.safeParse(event.pathParameters?.request_id ?? "");
  if (!requestId.success) {
    return Http.validationFailed(new ValidationError([{ field: "request_id", message: requestId.error.issues[0]!.message }]), correlation);
  }
  try {
    const found = await OrderLookup.find(requestId.data, runtime());
    const visible = found && (who.kind !== "user" || found.user_id === who.userId);
    return visible ? Http.reply(200, found) : Http.reply(404, { error: "not_found", request_id: requestId.data });
  } catch (err) {
    if (err instanceof DependencyUnavailableError) return Http.unavailable(correlation, err);
    throw err;
  }
}

export const handler = middy(order).use(Http.correlationHeader()).use(injectLambdaContext(logger));
