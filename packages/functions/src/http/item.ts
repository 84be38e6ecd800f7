import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { Item } from "@flash/core/domain/item";
import { Order } from "@flash/core/domain/order";
import { DependencyUnavailableError, ValidationError } from "@flash/core/domain/errors";
import { Metric } from "@flash/core/contract/metrics";
import { runtime } from "@flash/core/runtime/wire";
import { count, logger, metrics } from "@flash/core/runtime/telemetry";
import { Http } from "./http";

// No AWS SDK client: this function reads Valkey only, so it loads neither SQS nor DynamoDB.

/** GET /items/{item_id}: what a storefront shows ("12 left", "starts in 04:59"), in one Redis call, cacheable for 1 s. */
export async function item(event: Http.Event): Promise<Http.Result> {
  const correlation = Http.correlationId(event);
  const itemId = Order.id.safeParse(event.pathParameters?.item_id ?? "");
  if (!itemId.success) {
    return Http.validationFailed(new ValidationError([{ field: "item_id", message: itemId.error.issues[0]!.message }]), correlation);
  }
  try {
    const shelf = await runtime().inventory.shelf(itemId.data);
    if (!shelf) return Http.reply(404, { error: "unknown_item", item_id: itemId.data });
    count(Metric.ItemViewed);
    return Http.reply(200, Item.view(itemId.data, shelf), { "cache-control": "public, max-age=1" });
  } catch (err) {
    if (err instanceof DependencyUnavailableError) return Http.unavailable(correlation, err);
    throw err;
  }
}

export const handler = middy(item).use(Http.correlationHeader()).use(injectLambdaContext(logger)).use(logMetrics(metrics));
