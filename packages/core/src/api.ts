import { z } from "zod";
import { Buy } from "./buy";
import { Order } from "./order";
import { Http } from "./http";
import { runtime } from "./runtime";
import { DependencyUnavailableError, ValidationError } from "./errors";
import { count, loggerFor, Metric, milliseconds, rejectedMetric } from "./telemetry";

/** The HTTP API: each route turns an API Gateway v2 event into a domain call and the domain's answer into a reply. */
export namespace Api {
  const statusUrl = (requestId: string) => `/orders/${encodeURIComponent(requestId)}`;

  export async function buy(event: Http.Event): Promise<Http.Result> {
    const correlation = Http.correlationId(event);
    const log = loggerFor(correlation);
    const started = performance.now();
    count(Metric.OrdersReceived);
    const rejected = (reason: string, result: Http.Result) => {
      count(Metric.OrdersRejected);
      count(rejectedMetric(reason));
      log.debug("order rejected", { reason });
      return result;
    };
    try {
      const order = Http.parseBody(event, Order.Request);
      const outcome = await Buy.admit(order, runtime(), correlation);
      switch (outcome.kind) {
        case "accepted": {
          count(Metric.OrdersAccepted);
          log.info("order accepted", { request_id: order.request_id, item_id: order.item_id, user_id: order.user_id });
          const url = statusUrl(outcome.requestId);
          return Http.reply(202, { request_id: outcome.requestId, status: "PENDING", correlation_id: correlation, status_url: url }, { location: url });
        }
        case "duplicate_request":
          return rejected("duplicate", Http.reply(409, {
            error: "duplicate_request", request_id: outcome.requestId, status: outcome.status, status_url: statusUrl(outcome.requestId), correlation_id: correlation,
          }));
        case "idempotency_key_reused":
          return rejected("idempotency_key_reused", Http.reply(422, {
            error: "idempotency_key_reused", message: "request_id was already used with a different user_id, item_id or amount", correlation_id: correlation,
          }));
        case "unknown_item":
          return rejected("unknown_item", Http.reply(404, { error: "unknown_item", item_id: order.item_id, correlation_id: correlation }));
        case "sold_out":
          return rejected("sold_out", Http.reply(410, { error: "sold_out", item_id: order.item_id, correlation_id: correlation }));
        case "purchase_limit_exceeded":
          return rejected("purchase_limit", Http.reply(409, { error: "purchase_limit_exceeded", item_id: order.item_id, correlation_id: correlation }));
        case "rate_limited":
          return rejected("rate_limited", Http.reply(429, { error: "rate_limited", retry_after_seconds: outcome.retryAfterSeconds, correlation_id: correlation },
            { "retry-after": String(outcome.retryAfterSeconds) }));
      }
    } catch (err) {
      if (err instanceof ValidationError) return rejected("validation", Http.validationFailed(err, correlation));
      if (err instanceof Http.BodyTooLargeError) return rejected("validation", Http.tooLarge(correlation));
      if (err instanceof DependencyUnavailableError) {
        if (err.dependency === "queue") count(Metric.EnqueueFailed);
        log.warn("dependency unavailable", { dependency: err.dependency, error: err.message });
        return Http.unavailable(correlation);
      }
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
      const { orders, claims } = runtime();
      const found = (await orders.get(requestId.data)) ?? (await claims.pending(requestId.data));
      return found ? Http.reply(200, found) : Http.reply(404, { error: "not_found", request_id: requestId.data });
    } catch (err) {
      if (err instanceof DependencyUnavailableError) return Http.unavailable(correlation);
      throw err;
    }
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

  /** Operators only: IAM-authorized on AWS, bearer-token-authorized in the local profile. */
  export async function admin(event: Http.Event): Promise<Http.Result> {
    const correlation = Http.correlationId(event);
    const itemId = Order.id.safeParse(event.pathParameters?.item_id ?? "");
    if (!itemId.success) {
      return Http.validationFailed(new ValidationError([{ field: "item_id", message: itemId.error.issues[0]!.message }]), correlation);
    }
    const { inventory } = runtime();
    try {
      if (event.requestContext.http.method === "PUT") {
        const update = Http.parseBody(event, StockUpdate);
        const levels = await inventory.setStock(itemId.data, update.stock, update.per_user_limit);
        loggerFor(correlation).info("stock set", { ...levels });
        return Http.reply(200, levels);
      }
      const levels = await inventory.levels(itemId.data);
      return levels ? Http.reply(200, levels) : Http.reply(404, { error: "unknown_item", item_id: itemId.data });
    } catch (err) {
      if (err instanceof ValidationError) return Http.validationFailed(err, correlation);
      if (err instanceof Http.BodyTooLargeError) return Http.tooLarge(correlation);
      if (err instanceof DependencyUnavailableError) return Http.unavailable(correlation);
      throw err;
    }
  }
}
