import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Order } from "@flash/core/domain/order";
import { Item } from "@flash/core/domain/item";
import { Reconcile } from "@flash/core/domain/reconcile";
import { SaleReport } from "@flash/core/domain/report";
import { DependencyUnavailableError, EngineError, ValidationError } from "@flash/core/domain/errors";
import { ADMIN_OPERATIONS, type AdminOperation } from "@flash/core/contract/routes";
import { initClients, runtime } from "@flash/core/runtime/wire";
import { logger, loggerFor } from "@flash/core/runtime/telemetry";
import { Http } from "./http";

// The AWS SDK clients this function uses, loaded at init: DynamoDB (reconcile and the sale report read the orders), not SQS.
await initClients("dynamodb");

const ReconcileRequest = Reconcile.Options.strict();

type Operation = (event: Http.Event, correlation: string) => Promise<Http.Result>;

/** The item a route names, or a 400 naming the field. */
function itemOf(event: Http.Event): string {
  const itemId = Order.id.safeParse(event.pathParameters?.item_id ?? "");
  if (!itemId.success) throw new ValidationError([{ field: "item_id", message: itemId.error.issues[0]!.message }]);
  return itemId.data;
}

/**
 * The operator routes (contract/routes.ts, auth "admin"): IAM-authorized on AWS, bearer-token-authorized in the
 * local profile. Everything that reads or writes Redis for an operator goes through here, because on AWS the
 * cache is reachable only from inside the VPC.
 */
const operations: Record<AdminOperation, Operation> = {
  async listItems() {
    const { inventory } = runtime();
    const items = await Promise.all((await inventory.items()).map(async (id) => (await inventory.levels(id)) ?? { item_id: id }));
    return Http.reply(200, { items });
  },
  async setStock(event, correlation) {
    const item = itemOf(event);
    const update = Http.parseBody(event, Item.StockUpdate);
    const levels = await runtime().inventory.setStock(item, update.stock, update.per_user_limit, { startsAt: update.starts_at, endsAt: update.ends_at });
    loggerFor(correlation).info("stock set", { ...levels });
    return Http.reply(200, levels);
  },
  async getItem(event) {
    const item = itemOf(event);
    const levels = await runtime().inventory.levels(item);
    return levels ? Http.reply(200, levels) : Http.reply(404, { error: "unknown_item", item_id: item, message: `no item ${item}` });
  },
  async reconcile(event, correlation) {
    const item = itemOf(event);
    const options = event.body ? Http.parseBody(event, ReconcileRequest) : {};
    const report = await Reconcile.run(item, options, runtime());
    if (report.status !== "in_sync") loggerFor(correlation).warn("inventory drift", { item_id: item, status: report.status, drift: report.drift });
    return Http.reply(200, report);
  },
  async report(event) {
    const item = itemOf(event);
    const report = await SaleReport.forItem(item, runtime());
    // Like GET /admin/items/{item_id}: an item never loaded has no report, not a report of zeros.
    return report.levels ? Http.reply(200, report) : Http.reply(404, { error: "unknown_item", item_id: item, message: `no item ${item}` });
  },
};

export async function admin(event: Http.Event): Promise<Http.Result> {
  const correlation = Http.correlationId(event);
  const operation = ADMIN_OPERATIONS.get(event.routeKey);
  if (!operation) return Http.reply(404, { error: "not_found", message: `no admin route ${event.routeKey}` });
  try {
    return await operations[operation](event, correlation);
  } catch (err) {
    if (err instanceof ValidationError) return Http.validationFailed(err, correlation);
    if (err instanceof Http.BodyTooLargeError) return Http.tooLarge(correlation);
    if (err instanceof Http.UnsupportedMediaTypeError) return Http.unsupportedMediaType(correlation);
    if (err instanceof DependencyUnavailableError) return Http.unavailable(correlation, err);
    if (err instanceof EngineError) return Http.reply(409, { error: "conflict", message: err.message, correlation_id: correlation });
    throw err;
  }
}

export const handler = middy(admin).use(Http.correlationHeader()).use(injectLambdaContext(logger));
