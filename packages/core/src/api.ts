import * as z from "zod";
import { Buy } from "./buy";
import { Order } from "./order";
import { Http } from "./http";
import { Reconcile } from "./reconcile";
import { SaleReport } from "./report";
import { runtime } from "./runtime";
import { DependencyUnavailableError, EngineError, ScriptError, ValidationError } from "./errors";
import { count, loggerFor, Metric, milliseconds, rejectedMetric } from "./telemetry";

/** The HTTP API: each route turns an API Gateway v2 event into a domain call and the domain's answer into a reply. */
export namespace Api {
  const statusUrl = (requestId: string) => `/orders/${encodeURIComponent(requestId)}`;

  export async function buy(event: Http.Event): Promise<Http.Result> {
    const correlation = Http.correlationId(event);
    const log = loggerFor(correlation);
    const started = performance.now();
    count(Metric.OrdersReceived);
    let itemId: string | undefined; // known once the body parses: rejections are also counted per item for the sale report
    const rejected = async (reason: string, result: Http.Result) => {
      count(Metric.OrdersRejected);
      count(rejectedMetric(reason));
      log.debug("order rejected", { reason });
      // admit.lua already counted sold_out and purchase_limit in its own call; the hot path pays nothing extra.
      const counted = reason === "sold_out" || reason === "purchase_limit";
      if (itemId && !counted) await runtime().stats.rejected(itemId, reason).catch(() => undefined); // never fails a reply
      return result;
    };
    try {
      const order = Http.parseBody(event, Order.Request);
      itemId = order.item_id;
      const outcome = await Buy.place(order, runtime(), correlation);
      switch (outcome.kind) {
        case "accepted": {
          count(Metric.OrdersAccepted);
          if (!outcome.markedQueued) log.warn("order accepted, but its admission could not be marked queued", { request_id: order.request_id });
          log.info("order accepted", { request_id: order.request_id, item_id: order.item_id, user_id: order.user_id });
          const url = statusUrl(outcome.requestId);
          return Http.reply(202, { request_id: outcome.requestId, status: "PENDING", correlation_id: correlation, status_url: url }, { location: url });
        }
        case "duplicate_request":
          if (outcome.lookupError) {
            log.error("could not read the order record for a duplicate", { request_id: order.request_id, error: String(outcome.lookupError) });
          }
          return await rejected("duplicate", Http.reply(409, {
            error: "duplicate_request", request_id: outcome.requestId, status: outcome.status, status_url: statusUrl(outcome.requestId), correlation_id: correlation,
          }));
        case "idempotency_key_reused":
          return await rejected("idempotency_key_reused", Http.reply(422, {
            error: "idempotency_key_reused", message: "request_id was already used with a different user_id, item_id or amount", correlation_id: correlation,
          }));
        case "unknown_item":
          itemId = undefined; // not on sale: nothing to count it against
          return await rejected("unknown_item", Http.reply(404, { error: "unknown_item", item_id: order.item_id, correlation_id: correlation }));
        case "sold_out":
          return await rejected("sold_out", Http.reply(410, { error: "sold_out", item_id: order.item_id, correlation_id: correlation }));
        case "purchase_limit_exceeded":
          return await rejected("purchase_limit", Http.reply(409, { error: "purchase_limit_exceeded", item_id: order.item_id, correlation_id: correlation }));
        case "rate_limited":
          return await rejected("rate_limited", Http.reply(429, { error: "rate_limited", retry_after_seconds: outcome.retryAfterSeconds, correlation_id: correlation },
            { "retry-after": String(outcome.retryAfterSeconds) }));
      }
    } catch (err) {
      if (err instanceof ValidationError) return await rejected("validation", Http.validationFailed(err, correlation));
      if (err instanceof Http.BodyTooLargeError) return await rejected("validation", Http.tooLarge(correlation));
      if (err instanceof DependencyUnavailableError) {
        if (err.dependency === "queue") count(Metric.EnqueueFailed);
        log.warn("dependency unavailable", { dependency: err.dependency, error: err.message });
        return Http.unavailable(correlation);
      }
      if (err instanceof ScriptError) count(Metric.ScriptErrors);
      log.error("buy failed", { error: (err as Error).message, error_name: (err as Error).name });
      throw err;
    } finally {
      milliseconds(Metric.BuyDuration, performance.now() - started);
    }
  }

  export async function order(event: Http.Event): Promise<Http.Result> {
    const correlation = Http.correlationId(event);
    const requestId = Order.requestId.safeParse(event.pathParameters?.request_id ?? "");
    if (!requestId.success) {
      return Http.validationFailed(new ValidationError([{ field: "request_id", message: requestId.error.issues[0]!.message }]), correlation);
    }
    try {
      const found = (await runtime().orders.get(requestId.data)) ?? (await pending(requestId.data));
      return found ? Http.reply(200, found) : Http.reply(404, { error: "not_found", request_id: requestId.data });
    } catch (err) {
      if (err instanceof DependencyUnavailableError) return Http.unavailable(correlation);
      throw err;
    }
  }

  /** An accepted order the processor has not recorded yet: registered, and its hold is on the queue. */
  async function pending(requestId: string): Promise<Order.Record | undefined> {
    const { requests, inventory } = runtime();
    const request = await requests.find(requestId);
    const hold = request && (await inventory.hold(request.item_id, requestId));
    if (!request || !hold?.queued) return undefined;
    const at = new Date(hold.admitted_ms).toISOString();
    return { ...request, status: "PENDING", created_at: at, updated_at: at };
  }

  export async function health(): Promise<Http.Result> {
    const { probes } = runtime();
    const entries = await Promise.all(
      Object.entries(probes).map(async ([name, probe]) => [name, await probe.check().then(() => "ok", () => "unavailable")] as const),
    );
    const checks = Object.fromEntries(entries);
    const healthy = entries.every(([, state]) => state === "ok");
    return Http.reply(healthy ? 200 : 503, { status: healthy ? "ok" : "degraded", ...checks });
  }

  const StockUpdate = z.object({
    stock: z.number().int("must be an integer").min(0),
    per_user_limit: z.number().int("must be an integer").min(1).default(1),
  });

  const ReconcileRequest = Reconcile.Options.strict();

  /**
   * Operators only: IAM-authorized on AWS, bearer-token-authorized in the local profile. Everything that reads or
   * writes Redis for an operator goes through here, because on AWS the cache is reachable only from inside the VPC.
   *   GET  /admin/items                          items on sale with their levels
   *   PUT  /admin/items/{item_id}                load stock           GET /admin/items/{item_id}  inspect it
   *   POST /admin/items/{item_id}/reconcile      drift report; {"repair": true} fixes it
   *   GET  /admin/items/{item_id}/report         sale report of the item
   */
  export async function admin(event: Http.Event): Promise<Http.Result> {
    const correlation = Http.correlationId(event);
    const { inventory, audit, history, stats } = runtime();
    try {
      if (event.routeKey === "GET /admin/items") {
        const items = await Promise.all((await inventory.items()).map(async (id) => (await inventory.levels(id)) ?? { item_id: id }));
        return Http.reply(200, { items });
      }
      const itemId = Order.id.safeParse(event.pathParameters?.item_id ?? "");
      if (!itemId.success) {
        return Http.validationFailed(new ValidationError([{ field: "item_id", message: itemId.error.issues[0]!.message }]), correlation);
      }
      const item = itemId.data;
      switch (event.routeKey) {
        case "POST /admin/items/{item_id}/reconcile": {
          const options = event.body ? Http.parseBody(event, ReconcileRequest) : {};
          const report = await Reconcile.run(item, options, { audit, history });
          if (report.status !== "in_sync") loggerFor(correlation).warn("inventory drift", { item_id: item, status: report.status, drift: report.drift });
          return Http.reply(200, report);
        }
        case "GET /admin/items/{item_id}/report":
          return Http.reply(200, await SaleReport.forItem(item, { inventory, history, stats }));
      }
      if (event.requestContext.http.method === "PUT") {
        const update = Http.parseBody(event, StockUpdate);
        const levels = await inventory.setStock(item, update.stock, update.per_user_limit);
        loggerFor(correlation).info("stock set", { ...levels });
        return Http.reply(200, levels);
      }
      const levels = await inventory.levels(item);
      return levels ? Http.reply(200, levels) : Http.reply(404, { error: "unknown_item", item_id: item });
    } catch (err) {
      if (err instanceof ValidationError) return Http.validationFailed(err, correlation);
      if (err instanceof Http.BodyTooLargeError) return Http.tooLarge(correlation);
      if (err instanceof DependencyUnavailableError) return Http.unavailable(correlation);
      if (err instanceof EngineError) return Http.reply(409, { error: "conflict", message: err.message, correlation_id: correlation });
      throw err;
    }
  }
}
