import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { Buy } from "@flash/core/domain/buy";
import { Order } from "@flash/core/domain/order";
import { CircuitOpenError, DependencyUnavailableError, ScriptError, ValidationError } from "@flash/core/domain/errors";
import { Metric, rejectedMetric } from "@flash/core/contract/metrics";
import { pathOf } from "@flash/core/contract/routes";
import { initClients, runtime } from "@flash/core/runtime/wire";
import { count, logger, loggerFor, metrics, milliseconds } from "@flash/core/runtime/telemetry";
import { Http } from "./http";

// The AWS SDK clients this function uses, loaded at init: SQS (the enqueue) and DynamoDB (a duplicate's order record).
await initClients("sqs", "dynamodb");

const statusUrl = (requestId: string) => pathOf("order", { request_id: requestId });

/** With buyer identity on, the token names the buyer: the body may leave user_id out, or must repeat it exactly. */
const IdentifiedRequest = Order.Request.extend({ user_id: Order.id.optional() });

/** POST /buy: parse, Buy.place, and the outcome as HTTP. */
export async function buy(event: Http.Event): Promise<Http.Result> {
  const correlation = Http.correlationId(event);
  const log = loggerFor(correlation);
  const started = performance.now();
  count(Metric.OrdersReceived);
  /**
   * The door counts its own refusals per item (the sale report) in the call that decides them; `countFor` names the
   * item of a refusal that came from elsewhere and is counted here (a request_id the registry found on another item).
   */
  const rejected = async (reason: Order.RejectionReason, result: Http.Result, countFor?: string) => {
    count(Metric.OrdersRejected);
    count(rejectedMetric(reason));
    log.debug("order rejected", { reason });
    if (countFor) await runtime().stats.rejected(countFor, reason).catch(() => undefined); // never fails a reply
    return result;
  };
  try {
    const who = Http.buyer(event, runtime().config.AUTH_USER_CLAIM);
    const unidentified = Http.unidentified(who, correlation);
    if (unidentified) return unidentified;
    let order: Order.Request;
    if (who.kind === "user") {
      const body = Http.parseBody(event, IdentifiedRequest);
      if (body.user_id !== undefined && body.user_id !== who.userId) {
        log.warn("user_id in the body is not the token's user", { request_id: body.request_id });
        return Http.reply(403, {
          error: "user_mismatch",
          message: "user_id in the body is not the user the token names: leave it out, or send the token's",
          correlation_id: correlation,
        });
      }
      order = { ...body, user_id: who.userId };
    } else {
      order = Http.parseBody(event, Order.Request);
    }
    const outcome = await Buy.place(order, runtime(), correlation);
    const base = { correlation_id: correlation };
    switch (outcome.kind) {
      case "accepted": {
        count(Metric.OrdersAccepted);
        log.info("order accepted", { request_id: order.request_id, item_id: order.item_id, user_id: order.user_id });
        const url = statusUrl(outcome.requestId);
        return Http.reply(202, { request_id: outcome.requestId, status: "PENDING", ...base, status_url: url }, { location: url });
      }
      case "duplicate_request":
        if (outcome.lookupError) {
          log.error("could not read the order record for a duplicate", { request_id: order.request_id, error: String(outcome.lookupError) });
        }
        return await rejected(outcome.kind, Http.reply(409, {
          error: outcome.kind, message: `request ${outcome.requestId} was already accepted: follow its status_url`,
          request_id: outcome.requestId, status: outcome.status, status_url: statusUrl(outcome.requestId), ...base,
        }));
      case "idempotency_key_reused":
        return await rejected(outcome.kind, Http.reply(422, {
          error: outcome.kind, message: "request_id was already used with a different user_id, item_id or amount", ...base,
        }), outcome.by === "registry" ? order.item_id : undefined);
      case "unknown_item":
        return await rejected(outcome.kind, Http.reply(404, { error: outcome.kind, item_id: order.item_id, message: `${order.item_id} is not on sale`, ...base }));
      case "sold_out":
        return await rejected(outcome.kind, Http.reply(410, {
          error: outcome.kind, item_id: order.item_id, message: `${order.item_id} is sold out: fewer than ${order.amount} left`, ...base,
        }));
      case "purchase_limit_exceeded":
        return await rejected(outcome.kind, Http.reply(409, {
          error: outcome.kind, item_id: order.item_id, message: `at most ${outcome.limit} of ${order.item_id} per buyer, and you hold or bought ${outcome.held}`, ...base,
        }));
      case "rate_limited":
        return await rejected(outcome.kind, Http.reply(429, {
          error: outcome.kind, message: `too many requests for this item: try again in ${outcome.retryAfterSeconds} s`,
          retry_after_seconds: outcome.retryAfterSeconds, ...base,
        },
          { "retry-after": String(outcome.retryAfterSeconds) }));
      case "sale_not_started":
        return await rejected(outcome.kind, Http.reply(409, {
          error: outcome.kind, item_id: order.item_id, starts_at: outcome.startsAt, message: `the sale of ${order.item_id} starts at ${outcome.startsAt}`, ...base,
        }, { "retry-after": String(outcome.retryAfterSeconds) }));
      case "sale_ended":
        return await rejected(outcome.kind, Http.reply(410, { error: outcome.kind, item_id: order.item_id, message: `the sale of ${order.item_id} has ended`, ...base }));
    }
  } catch (err) {
    if (err instanceof ValidationError) return await rejected("validation_failed", Http.validationFailed(err, correlation));
    if (err instanceof Http.BodyTooLargeError) return await rejected("validation_failed", Http.tooLarge(correlation));
    if (err instanceof Http.UnsupportedMediaTypeError) return await rejected("validation_failed", Http.unsupportedMediaType(correlation));
    if (err instanceof DependencyUnavailableError) {
      if (err.dependency === "queue" && !(err instanceof CircuitOpenError)) count(Metric.EnqueueFailed);
      log.warn("dependency unavailable", { dependency: err.dependency, error: err.message });
      return Http.unavailable(correlation, err);
    }
    if (err instanceof ScriptError) count(Metric.ScriptErrors);
    log.error("buy failed", { error: (err as Error).message, error_name: (err as Error).name });
    throw err;
  } finally {
    milliseconds(Metric.BuyDuration, performance.now() - started);
  }
}

export const handler = middy(buy).use(Http.correlationHeader()).use(injectLambdaContext(logger)).use(logMetrics(metrics));
