import * as z from "zod";
import { Order } from "../domain/order";
import { Item } from "../domain/item";
import { Reconcile } from "../domain/reconcile";
import type { ItemLevels } from "../domain/ports";
import type { SaleReport } from "../domain/report";

/**
 * Every HTTP body, request and response, as a zod schema: the request bodies are the very schemas the handlers parse
 * with; the response bodies, which the handlers build by hand, are declared here to match them (the type checks below
 * tie each to the domain's type, and test/e2e/openapi-contract.test.ts checks the engine's real answers against them).
 * scripts/openapi.ts turns them into the components of docs/openapi.yaml with zod's own z.toJSONSchema.
 *
 * Response objects are open (a client ignores fields it does not know); the contract test is strict, so every field
 * the engine answers is documented here.
 */
export namespace HttpSchemas {
  const instant = z.iso.datetime();
  const count = z.number().int().min(0);
  const correlationId = z.string().meta({ description: "The request's correlation id: the caller's x-correlation-id when sane, else the gateway's request id." });
  const message = z.string().meta({ description: "What went wrong, in words." });
  const status = z.enum(["PENDING", ...Order.FINAL_STATUSES]);

  // ---- request bodies: the handlers' own schemas ----

  /** POST /buy. The handler parses Order.Request; with buyer identity on, the same with user_id optional. */
  export const BuyRequest = Order.Request.extend({
    user_id: Order.id.optional().meta({
      description:
        "Required without buyer identity (400 otherwise). With it, optional, and when present it must be the token's user (else 403 user_mismatch).",
    }),
  }).meta({ description: "An order. Unknown fields are ignored (including __proto__)." });

  /** PUT /admin/items/{item_id}. */
  export const StockUpdate = Item.StockUpdate;

  /** POST /admin/items/{item_id}/reconcile: Reconcile.Options, and no other field. */
  export const ReconcileRequest = Reconcile.Options.strict();

  // ---- response bodies ----

  export const Accepted = z
    .object({
      request_id: Order.requestId,
      status: z.literal("PENDING"),
      correlation_id: correlationId,
      status_url: z.string().meta({ description: "Where to follow the order: /orders/{request_id}." }),
    })
    .meta({ description: "Accepted: the order is PENDING until the processor settles it." });

  export const OrderRecord = z
    .object({
      request_id: Order.requestId,
      user_id: Order.id,
      item_id: Order.id,
      amount: Order.amount,
      status: status.meta({ description: "PENDING, then exactly one final status." }),
      reason: z.string().optional().meta({ description: "Present on FAILED_* statuses: why, in words a storefront can show." }),
      created_at: instant.meta({ description: "When the order was accepted." }),
      updated_at: instant.meta({ description: "When its status was last written." }),
    })
    .meta({ description: "An order as its buyer sees it." });

  export const Levels = z
    .object({
      item_id: Order.id,
      stock: count.meta({ description: "Remaining, not yet admitted." }),
      in_flight: count.meta({ description: "Admitted, not yet settled." }),
      sold: count.meta({ description: "Completed units." }),
      per_user_limit: z.number().int().min(1),
      starts_at: instant.optional().meta({ description: "The sale window's start, when one is set." }),
      ends_at: instant.optional().meta({ description: "The sale window's end, when one is set." }),
    })
    .meta({ description: "An item's counters (operators). At every quiet moment the units loaded = stock + in_flight + sold." });

  export const ItemList = z
    .object({
      items: z.array(
        z.union([Levels, z.object({ item_id: Order.id }).meta({ description: "An item whose counters vanished while the list was read." })]),
      ),
    })
    .meta({ description: "Every item on sale, with its levels." });

  export const ItemView = z
    .object({
      item_id: Order.id,
      stock_left: z.number().int().meta({ description: "Units a buyer could still be admitted for." }),
      starts_at: instant.nullable().meta({ description: "The sale window's start; null when the sale is open from loading." }),
      ends_at: instant.nullable().meta({ description: "The sale window's end; null while stock lasts." }),
      state: z.enum(["upcoming", "live", "sold_out", "ended"]),
    })
    .meta({ description: "An item as anyone may see it: never in-flight, sold or limit figures." });

  const dependencyState = z.enum(["ok", "unavailable"]);
  export const Health = z
    .object({
      status: z.enum(["ok", "degraded"]),
      redis: dependencyState,
      queue: dependencyState,
      orders_table: dependencyState,
      circuit_breaker_state: z.enum(["closed", "open", "half_open"]).meta({ description: "This execution environment's circuit breaker around the queue." }),
    })
    .meta({ description: "Each dependency, checked for real." });

  const drift = z.object({ field: z.string(), current: z.number().int().nullable(), expected: z.number().int() });
  export const ReconcileReport = z
    .object({
      item_id: Order.id,
      status: z.enum(["in_sync", "drift", "repaired"]),
      current: Levels.extend({ total: count.optional() }).optional().meta({ description: "Redis as found; absent when the item's counters are gone." }),
      expected: z.object({ stock: count, in_flight: count, sold: count, total: count }).meta({ description: "What the order records say." }),
      drift: z.array(drift),
      users_drift: z.array(z.object({ user_id: Order.id, current: z.number().int(), expected: z.number().int() })),
      ledger_missing: count,
      ledger_mismatch: count,
      stale_holds: z.array(Order.requestId).meta({ description: "Holds whose order is already final in the table." }),
      orders: count.meta({ description: "Final orders recorded for the item." }),
      repaired: Levels.optional().meta({ description: "The levels after the repair." }),
      oversold: count.optional().meta({ description: "Units sold beyond total: stock was set to 0 and this needs a human." }),
    })
    .meta({ description: "The item's Redis counters compared with its order records; with repair, what was fixed." });

  const byFinalStatus = z.object(Object.fromEntries(Order.FINAL_STATUSES.map((s) => [s, count])) as Record<Order.FinalStatus, typeof count>);
  export const SaleReportItem = z
    .object({
      item_id: Order.id,
      levels: Levels.optional(),
      units_sold: count,
      orders: byFinalStatus.meta({ description: "Final orders by status." }),
      rejected: z.record(z.string(), count).meta({ description: "Refusals at the door by reason (the error codes of POST /buy)." }),
      timings: z.object({
        first_accepted_at: instant.optional(),
        last_settled_at: instant.optional(),
        sold_out_at: instant.optional().meta({ description: "When the last unit was sold, if the item is sold out." }),
        settle_ms: z
          .object({ p50: count, p95: count, p99: count, max: count })
          .meta({ description: "Accepted to final status recorded, over all final orders." }),
      }),
      bucket_seconds: z.number().int().min(1),
      timeline: z
        .array(z.object({ start: instant, completed: count, failed: count }))
        .meta({ description: "Settled orders per time bucket (bucket_seconds wide), at most 60 buckets." }),
    })
    .meta({ description: "The sale report of one item: what was sold, what was refused and why, how long settlement took." });

  // ---- errors: every error body names its `error` code; any may carry a `message` and the correlation id ----

  const error = <C extends string, S extends z.ZodRawShape = {}>(code: C, description: string, shape?: S) =>
    z
      .object({ error: z.literal(code), message: message.optional(), correlation_id: correlationId.optional(), ...(shape ?? ({} as S)) })
      .meta({ description });

  export const ValidationFailed = error("validation_failed", "The request is malformed: one entry per offending field.", {
    errors: z
      .array(z.object({ field: z.string().meta({ description: 'The field, "body" for the body as a whole, or the path parameter.' }), message }))
      .min(1),
  });
  export const UnknownItem = error("unknown_item", "Stock was never loaded for the item: it is not on sale.", { item_id: z.string() });
  export const NotFound = error("not_found", "No such order (or, with buyer identity on, another buyer's).", { request_id: z.string() });
  export const DuplicateRequest = error("duplicate_request", "This request_id was already accepted with the same payload: follow status_url.", {
    request_id: Order.requestId,
    status: status.meta({ description: "The order's status now." }),
    status_url: z.string(),
  });
  export const PurchaseLimitExceeded = error(
    "purchase_limit_exceeded",
    "The user's admitted plus completed units would exceed the item's per_user_limit.",
    { item_id: Order.id },
  );
  export const SaleNotStarted = error("sale_not_started", "The item's sale window opens at starts_at (Retry-After: seconds until then).", {
    item_id: Order.id,
    starts_at: instant,
  });
  export const SaleEnded = error("sale_ended", "The item's sale window has closed.", { item_id: Order.id });
  export const SoldOut = error("sold_out", "The stock left cannot cover amount.", { item_id: Order.id });
  export const PayloadTooLarge = error("payload_too_large", "The body is over 16 KiB.");
  export const UnsupportedMediaType = error("unsupported_media_type", "The body was declared as something other than JSON.");
  export const IdempotencyKeyReused = error("idempotency_key_reused", "The request_id came with a different user_id, item_id or amount.");
  export const RateLimited = error("rate_limited", "Over RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW_SECONDS for this user and item.", {
    retry_after_seconds: z.number().int().min(0).meta({ description: "As the Retry-After header." }),
  });
  export const Unavailable = error("unavailable", "A dependency cannot be reached, or the queue's circuit breaker is open. Nothing was recorded.", {
    dependency: z.enum(["redis", "queue", "orders_table", "payment"]).optional().meta({ description: "Which one." }),
  });
  export const UserMismatch = error("user_mismatch", "Buyer identity on: user_id in the body is not the token's user.");
  export const InvalidUserClaim = error("invalid_user_claim", "Buyer identity on: the token's user claim is missing or is not a valid user_id.");
  export const Conflict = error("conflict", "The operation cannot proceed as asked; the message says why.");
  export const AdminUnauthorized = error("unauthorized", "Local profile: the admin bearer token is missing or wrong.");
  /** API Gateway's own bodies (and the local gateway's, alike): no error code. */
  export const GatewayUnauthorized = z
    .object({ message: z.literal("Unauthorized") })
    .meta({ description: "API Gateway's own answer (the local gateway's alike): no error code." });
  export const GatewayForbidden = z.object({ message: z.literal("Forbidden") }).meta({ description: "API Gateway's own answer: no error code." });

  /** The components of the OpenAPI document, by name. */
  export const components = {
    BuyRequest,
    StockUpdate,
    ReconcileRequest,
    Accepted,
    Order: OrderRecord,
    Levels,
    ItemList,
    ItemView,
    Health,
    ReconcileReport,
    SaleReportItem,
    ValidationFailed,
    UnknownItem,
    NotFound,
    DuplicateRequest,
    PurchaseLimitExceeded,
    SaleNotStarted,
    SaleEnded,
    SoldOut,
    PayloadTooLarge,
    UnsupportedMediaType,
    IdempotencyKeyReused,
    RateLimited,
    Unavailable,
    UserMismatch,
    InvalidUserClaim,
    Conflict,
    AdminUnauthorized,
    GatewayUnauthorized,
    GatewayForbidden,
  } as const satisfies Record<string, z.ZodType>;
  export type ComponentName = keyof typeof components;

  /** The parameters: path parameters by name, and the x-correlation-id header as Http.correlationId keeps it. */
  export const parameters = {
    item_id: Order.id,
    request_id: Order.requestId,
    "x-correlation-id": z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/),
  } as const satisfies Record<string, z.ZodType>;

  type JsonSchema = Record<string, unknown>;

  const options = {
    target: "draft-2020-12",
    io: "input",
    override: ({ jsonSchema }) => {
      const js = jsonSchema as JsonSchema;
      if (js.maximum === Number.MAX_SAFE_INTEGER) delete js.maximum;
      if (js.minimum === Number.MIN_SAFE_INTEGER) delete js.minimum;
      if (js.format === "date-time") delete js.pattern;
    },
  } as const satisfies z.core.ToJSONSchemaParams;

  const bare = (schema: JsonSchema) => {
    delete schema.$schema;
    delete schema.$id;
    return schema;
  };

  export function parameterSchemas(): Record<keyof typeof parameters, JsonSchema> {
    return Object.fromEntries(
      Object.entries(parameters).map(([name, schema]) => [name, bare(z.toJSONSchema(schema, options) as JsonSchema)]),
    ) as Record<keyof typeof parameters, JsonSchema>;
  }

  /**
   * The components as JSON Schema 2020-12 (OpenAPI 3.1's dialect), by zod's z.toJSONSchema, each one referring to
   * the others as #/components/schemas/<name>. Input types (a field with a default is optional). Two simplifications
   * for readers: integer bounds at Number.MAX_SAFE_INTEGER are left out, and a date-time's format stands for zod's
   * long regular expression.
   */
  export function jsonSchemas(): Record<ComponentName, JsonSchema> {
    const registry = z.registry<{ id: string }>();
    for (const [id, schema] of Object.entries(components)) registry.add(schema, { id });
    const { schemas } = z.toJSONSchema(registry, { ...options, uri: (id) => `#/components/schemas/${id}` });
    for (const schema of Object.values(schemas)) bare(schema as JsonSchema);
    return schemas as Record<ComponentName, JsonSchema>;
  }
}

// The hand-built bodies, tied to the domain's types: a field added to one and not the other fails the type check.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const tied: [
  Same<z.output<typeof HttpSchemas.Levels>, ItemLevels>,
  Same<z.output<typeof HttpSchemas.ItemView>, Item.View>,
  Same<z.output<typeof HttpSchemas.OrderRecord>, Omit<Order.Record, "status"> & { status: Order.Status }>,
  Same<z.output<typeof HttpSchemas.ReconcileReport>, Reconcile.Report>,
  Same<z.output<typeof HttpSchemas.SaleReportItem>, SaleReport.ItemReport>,
] = [true, true, true, true, true];
void tied;
