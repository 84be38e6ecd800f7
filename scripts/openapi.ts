/**
 * docs/openapi.yaml, generated from the code:
 *   npm run openapi              writes it
 *   npm run openapi -- --check   exits 1 when the committed file is not what the code generates
 *
 * Paths, methods, operationIds and security come from ROUTES (packages/core/src/contract/routes.ts); every schema from
 * the zod schemas in packages/core/src/contract/http-schemas.ts (the request bodies being the ones the handlers parse
 * with), by zod's own z.toJSONSchema. What is written here by hand is what code cannot say: the words, the statuses
 * and error codes each operation answers (test/e2e/openapi-contract.test.ts sends every example below to the local
 * profile and checks its answer against this), and the examples.
 *
 * OpenAPI 3.1: its schema dialect is JSON Schema 2020-12, which z.toJSONSchema writes as it is (3.0 would need zod's
 * "openapi-3.0" target, e.g. nullable instead of type [string, null]), and both validators the tests use support it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Document, isMap, isScalar, isSeq, visit } from "yaml";
import { ROUTES, type Route, type RouteName } from "@flash/core/contract/routes";
import { HttpSchemas } from "@flash/core/contract/http-schemas";

export const OPENAPI_FILE = fileURLToPath(new URL("../docs/openapi.yaml", import.meta.url));

type Schema = HttpSchemas.ComponentName;
type Json = Record<string, unknown>;

interface Header {
  description: string;
  /** Always sent with this status. */
  required?: boolean;
  type?: "string" | "integer";
}

interface Response {
  description: string;
  /** The body's schema; several: one of them, told apart by `error`. */
  body: Schema | Schema[];
  headers?: Record<string, Header>;
}

/**
 * One example: a request (path parameters, headers, body) and the answer it gets. In the document, the request's
 * parts are named examples of the parameters and the request body, and the answer is the response example of the
 * same name, which also carries how to reproduce it (x-setup, x-buyer-identity, x-authorization) or why the contract
 * test does not (x-not-reproduced).
 */
interface Example {
  summary: string;
  params?: Record<string, string>;
  correlationId?: string;
  body?: unknown;
  status: number;
  response: unknown;
  /** Requests made before this one, "[N× ]METHOD /path [JSON body]"; "… until JSON": asked again until the body has those fields. */
  setup?: string[];
  /** Runs with buyer identity on (locally AUTH_DEV_ISSUER=1). */
  identity?: true;
  /** "none": no Authorization header at all; { token }: a buyer token with these claims. Absent: what security needs. */
  authorization?: "none" | { token: Json };
  /** Why the contract test cannot produce this answer. */
  notReproduced?: string;
}

interface Operation {
  summary: string;
  description?: string;
  tag: string;
  /** Whether the body is required; the schema is the operation's request schema. */
  requestBody?: { schema: Schema; required: boolean; description?: string };
  responses: Record<number, Response>;
  examples: Record<string, Example>;
}

// ---- the words and examples ----

const CORRELATION = "0f8e4c6a-2b1d-4e3f-8a9b-7c6d5e4f3a2b";
const SKU1 = 'PUT /admin/items/sku-1 {"stock":100,"per_user_limit":2}';
const UPCOMING = 'PUT /admin/items/sku-next {"stock":50,"starts_at":"2099-11-27T18:00:00Z"}';
const ENDED = 'PUT /admin/items/sku-past {"stock":50,"starts_at":"2025-11-27T18:00:00Z","ends_at":"2025-11-27T19:00:00Z"}';
const SOLD_OUT = 'PUT /admin/items/sku-gone {"stock":0}';
const buyLine = (body: Json, times = 1) => `${times > 1 ? `${times}× ` : ""}POST /buy ${JSON.stringify(body)}`;
const order = (user: string, requestId: string, extra: Json = {}) => ({ user_id: user, item_id: "sku-1", amount: 1, request_id: requestId, ...extra });

const levelsSku1 = { item_id: "sku-1", stock: 100, in_flight: 0, sold: 0, per_user_limit: 2 };
const retryAfter: Header = { type: "integer", required: true, description: "Seconds to wait before retrying." };
const unavailableExample: Example = {
  summary: "Redis cannot be reached",
  status: 503,
  response: { error: "unavailable", dependency: "redis", correlation_id: CORRELATION },
  notReproduced: "needs a dependency down (test/e2e/http-contract.test.ts kills Redis)",
};
const adminUnauthorized: Example = {
  summary: "No admin token (local profile)",
  authorization: "none",
  status: 401,
  response: { error: "unauthorized", message: "admin routes need Authorization: Bearer $ADMIN_TOKEN" },
};
const iamForbidden: Example = {
  summary: "IAM denied the caller (AWS)",
  status: 403,
  response: { message: "Forbidden" },
  notReproduced: "AWS only: API Gateway's IAM authorization",
};
const tooLarge: Example = {
  summary: "A body over 16 KiB",
  status: 413,
  response: { error: "payload_too_large", message: "body must be at most 16384 bytes", correlation_id: CORRELATION },
  notReproduced: "a 17 KiB body has no place in this document (test/e2e/http-contract.test.ts sends one)",
};

const notJson: Example = {
  summary: "A body declared as a form, not JSON",
  status: 415,
  response: { error: "unsupported_media_type", message: "send the body as application/json", correlation_id: CORRELATION },
  notReproduced: "the examples here are sent as JSON (test/e2e/http-contract.test.ts sends a form)",
};

const invalidItemId = (extra: Partial<Example> = {}): Example => ({
  summary: "An item_id that is not one",
  params: { item_id: "sku 1" },
  status: 400,
  response: { error: "validation_failed", errors: [{ field: "item_id", message: "must be 1-100 characters of A-Z a-z 0-9 _ -" }], correlation_id: CORRELATION },
  ...extra,
});

const responses = {
  validation: (description = "`validation_failed`: one entry per offending field."): Response => ({ description, body: "ValidationFailed" }),
  tooLarge: { description: "`payload_too_large`: the body is over 16 KiB.", body: "PayloadTooLarge" } as Response,
  notJson: {
    description: "`unsupported_media_type`: a content-type other than JSON was declared (none declared is read as JSON).",
    body: "UnsupportedMediaType",
  } as Response,
  unavailable: {
    description:
      "`unavailable`: Redis, the queue or the orders table cannot be reached (`dependency` says which), or the queue's circuit breaker is open. Nothing was recorded; retry (with the same request_id) after Retry-After seconds.",
    body: "Unavailable",
    headers: { "Retry-After": retryAfter },
  } as Response,
  buyerUnauthorized: {
    description:
      "Buyer identity on: the token is missing, expired, for another audience or issuer, or its signature does not verify. Answered by the gateway (API Gateway's JWT authorizer, or the local gateway alike), with no `error` code; the www-authenticate header says why.",
    body: "GatewayUnauthorized",
    headers: { "www-authenticate": { description: 'Bearer scope="" error="invalid_token" error_description="..."' } },
  } as Response,
  adminUnauthorized: { description: "Local profile: the admin bearer token is missing or wrong (`unauthorized`).", body: "AdminUnauthorized" } as Response,
  iamForbidden: { description: "AWS: IAM (SigV4) authorization denied the caller; API Gateway's own answer.", body: "GatewayForbidden" } as Response,
};

/** Each route's operation, by the route's name (its operationId): a route without one fails the type check. */
const OPERATIONS: Record<RouteName, Operation> = {
  buy: {
    tag: "buyers",
    summary: "Buy units of an item",
    description:
      "Admits the order against the stock left and queues it; the processor settles it (watch it at status_url). With buyer identity on, the token's user buys, and user_id may be left out of the body. A request refused with 400, 401, 403, 404, 410, 413, 415, 429 or 503 leaves nothing behind that would block its retry. Another method on this path answers 405 with Allow.",
    requestBody: { schema: "BuyRequest", required: true },
    responses: {
      202: {
        description: "Accepted; the order is PENDING until the processor settles it.",
        body: "Accepted",
        headers: { Location: { required: true, description: "The order's status URL, /orders/{request_id}." } },
      },
      400: responses.validation("`validation_failed`: malformed JSON, not an object, a wrong type, a missing or invalid field; one entry per offending field."),
      401: responses.buyerUnauthorized,
      403: {
        description:
          "Buyer identity on: `user_mismatch`, the body's user_id is not the token's user; or `invalid_user_claim`, the token's user claim is missing or is not a valid user id. Both with a `message`; nothing is taken.",
        body: ["UserMismatch", "InvalidUserClaim"],
      },
      404: { description: "`unknown_item`: stock was never loaded for item_id.", body: "UnknownItem" },
      409: {
        description:
          "`duplicate_request`: this request_id was already accepted with the same payload (double click, retry); the body has request_id, status and status_url. Or `purchase_limit_exceeded`: the user's admitted plus completed units would exceed per_user_limit. Or `sale_not_started`: the item's sale window opens at `starts_at` (in the body), with Retry-After in seconds.",
        body: ["DuplicateRequest", "PurchaseLimitExceeded", "SaleNotStarted"],
        headers: { "Retry-After": { type: "integer", description: "With sale_not_started: seconds until the window opens." } },
      },
      410: {
        description:
          "`sale_ended`: the item's sale window has closed. `sold_out`: the stock left (minus what is admitted and in flight) cannot cover amount. May come from the buy function's sold-out near-cache for SOLD_OUT_CACHE_MS after the door said so, even for a retry of an accepted request_id (whose order stands: follow its status_url).",
        body: ["SoldOut", "SaleEnded"],
      },
      413: responses.tooLarge,
      415: responses.notJson,
      422: {
        description:
          "`idempotency_key_reused`: request_id came with a different user_id, item_id or amount. For another item, when that item could be bought: a sold-out, unknown or over-the-limit item is answered as such first, and nothing is taken either way.",
        body: "IdempotencyKeyReused",
      },
      429: {
        description: "`rate_limited`: over RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW_SECONDS for this user and item (sliding window).",
        body: "RateLimited",
        headers: { "Retry-After": retryAfter },
      },
      503: responses.unavailable,
    },
    examples: {
      accepted: {
        summary: "An order, accepted",
        setup: [SKU1],
        correlationId: "storefront-abc-123",
        body: order("alice", "7d4f6a2e-1c3b-4e5f-9a8b-0c1d2e3f4a5b"),
        status: 202,
        response: { request_id: "7d4f6a2e-1c3b-4e5f-9a8b-0c1d2e3f4a5b", status: "PENDING", correlation_id: "storefront-abc-123", status_url: "/orders/7d4f6a2e-1c3b-4e5f-9a8b-0c1d2e3f4a5b" },
      },
      accepted_with_token: {
        summary: "Buyer identity on: the token names the buyer, the body leaves user_id out",
        identity: true,
        authorization: { token: { sub: "alice" } },
        setup: [SKU1],
        body: { item_id: "sku-1", amount: 1, request_id: "0b5e7c1a-3d2f-4e6a-8b9c-1d2e3f4a5b6c" },
        status: 202,
        response: { request_id: "0b5e7c1a-3d2f-4e6a-8b9c-1d2e3f4a5b6c", status: "PENDING", correlation_id: CORRELATION, status_url: "/orders/0b5e7c1a-3d2f-4e6a-8b9c-1d2e3f4a5b6c" },
      },
      validation_failed: {
        summary: "Invalid fields: each is named",
        body: { user_id: "alice smith", item_id: "sku-1", amount: 0, request_id: "a1b2c3d4" },
        status: 400,
        response: {
          error: "validation_failed",
          errors: [
            { field: "user_id", message: "must be 1-100 characters of A-Z a-z 0-9 _ -" },
            { field: "amount", message: "Too small: expected number to be >=1" },
          ],
          correlation_id: CORRELATION,
        },
      },
      unauthorized: {
        summary: "Buyer identity on, and no token",
        identity: true,
        authorization: "none",
        body: { item_id: "sku-1", amount: 1, request_id: "c5d6e7f8-0a1b-4c2d-8e3f-4a5b6c7d8e9f" },
        status: 401,
        response: { message: "Unauthorized" },
      },
      user_mismatch: {
        summary: "Buyer identity on: the body names another user than the token",
        identity: true,
        authorization: { token: { sub: "bob" } },
        setup: [SKU1],
        body: order("alice", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"),
        status: 403,
        response: {
          error: "user_mismatch",
          message: "user_id in the body is not the user the token names: leave it out, or send the token's",
          correlation_id: CORRELATION,
        },
      },
      invalid_user_claim: {
        summary: "Buyer identity on: the token's user claim is no user_id",
        identity: true,
        authorization: { token: { sub: "auth0|5fe435b5" } },
        setup: [SKU1],
        body: { item_id: "sku-1", amount: 1, request_id: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f" },
        status: 403,
        response: {
          error: "invalid_user_claim",
          message: "the token's sub claim is missing or is not a valid user id (1-100 characters of A-Z a-z 0-9 _ -)",
          correlation_id: CORRELATION,
        },
      },
      unknown_item: {
        summary: "An item whose stock was never loaded",
        body: { user_id: "judy", item_id: "sku-404", amount: 1, request_id: "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a" },
        status: 404,
        response: { error: "unknown_item", item_id: "sku-404", correlation_id: CORRELATION },
      },
      duplicate_request: {
        summary: "The same request again (a double click, a retry)",
        setup: [SKU1, buyLine(order("dave", "3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b"))],
        body: order("dave", "3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b"),
        status: 409,
        response: {
          error: "duplicate_request",
          request_id: "3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b",
          status: "PENDING",
          status_url: "/orders/3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b",
          correlation_id: CORRELATION,
        },
      },
      purchase_limit_exceeded: {
        summary: "A third unit for a buyer who holds two (per_user_limit 2)",
        setup: [SKU1, buyLine(order("carol", "4f5a6b7c-8d9e-4f0a-9b1c-2d3e4f5a6b7c", { amount: 2 }))],
        body: order("carol", "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"),
        status: 409,
        response: { error: "purchase_limit_exceeded", item_id: "sku-1", correlation_id: CORRELATION },
      },
      sale_not_started: {
        summary: "An item whose sale opens later",
        setup: [UPCOMING],
        body: { user_id: "heidi", item_id: "sku-next", amount: 1, request_id: "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e" },
        status: 409,
        response: {
          error: "sale_not_started",
          item_id: "sku-next",
          starts_at: "2099-11-27T18:00:00.000Z",
          message: "the sale of sku-next starts at 2099-11-27T18:00:00.000Z",
          correlation_id: CORRELATION,
        },
      },
      sold_out: {
        summary: "An item with no stock left",
        setup: [SOLD_OUT],
        body: { user_id: "grace", item_id: "sku-gone", amount: 1, request_id: "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f" },
        status: 410,
        response: { error: "sold_out", item_id: "sku-gone", correlation_id: CORRELATION },
      },
      sale_ended: {
        summary: "An item whose sale window has closed",
        setup: [ENDED],
        body: { user_id: "ivan", item_id: "sku-past", amount: 1, request_id: "8d9e0f1a-2b3c-4d4e-9f5a-6b7c8d9e0f1a" },
        status: 410,
        response: { error: "sale_ended", item_id: "sku-past", message: "the sale of sku-past has ended", correlation_id: CORRELATION },
      },
      payload_too_large: tooLarge,
      unsupported_media_type: notJson,
      idempotency_key_reused: {
        summary: "An accepted request_id again, with another amount",
        setup: [SKU1, buyLine(order("erin", "9e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b"))],
        body: order("erin", "9e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b", { amount: 2 }),
        status: 422,
        response: { error: "idempotency_key_reused", message: "request_id was already used with a different user_id, item_id or amount", correlation_id: CORRELATION },
      },
      rate_limited: {
        summary: "The sixth request of a buyer for an item within the window (RATE_LIMIT_MAX_REQUESTS=5)",
        setup: [SKU1, buyLine(order("frank", "0f1a2b3c-4d5e-4f6a-9b7c-8d9e0f1a2b3c"), 5)],
        body: order("frank", "0f1a2b3c-4d5e-4f6a-9b7c-8d9e0f1a2b3c"),
        status: 429,
        response: { error: "rate_limited", retry_after_seconds: 60, correlation_id: CORRELATION },
      },
      unavailable: unavailableExample,
    },
  },

  order: {
    tag: "buyers",
    summary: "An order's status",
    description:
      "PENDING, then exactly one of COMPLETED, FAILED_SOLD_OUT, FAILED_LIMIT, FAILED_PAYMENT or FAILED_EXPIRED. With buyer identity on, only the order's buyer sees it; for anyone else it does not exist (404), so nobody can read or probe other buyers' orders.",
    responses: {
      200: { description: "The order.", body: "Order" },
      400: responses.validation("`validation_failed`: request_id is not one."),
      401: responses.buyerUnauthorized,
      403: { description: "Buyer identity on: `invalid_user_claim`, the token's user claim is missing or is not a valid user id.", body: "InvalidUserClaim" },
      404: {
        description:
          "`not_found`: no such order, or (buyer identity on) another user's. An order just accepted reads PENDING until its record is written, never 404.",
        body: "NotFound",
      },
      503: responses.unavailable,
    },
    examples: {
      found: {
        summary: "An order, settled",
        setup: [
          SKU1,
          buyLine(order("olivia", "3f1c2a9e-8b7d-4c1e-9a2b-1234567890ab")),
          'GET /orders/3f1c2a9e-8b7d-4c1e-9a2b-1234567890ab until {"status":"COMPLETED"}',
        ],
        params: { request_id: "3f1c2a9e-8b7d-4c1e-9a2b-1234567890ab" },
        status: 200,
        response: {
          request_id: "3f1c2a9e-8b7d-4c1e-9a2b-1234567890ab",
          user_id: "olivia",
          item_id: "sku-1",
          amount: 1,
          status: "COMPLETED",
          created_at: "2026-11-27T18:00:01.204Z",
          updated_at: "2026-11-27T18:00:01.318Z",
        },
      },
      payment_declined: {
        summary: "An order whose payment was declined (PAYMENT_DECLINE_USERS=mallory): the unit went back on sale",
        setup: [
          SKU1,
          buyLine(order("mallory", "4a2d3b0f-9c8e-4d2f-8b3c-2345678901bc")),
          'GET /orders/4a2d3b0f-9c8e-4d2f-8b3c-2345678901bc until {"status":"FAILED_PAYMENT"}',
        ],
        params: { request_id: "4a2d3b0f-9c8e-4d2f-8b3c-2345678901bc" },
        status: 200,
        response: {
          request_id: "4a2d3b0f-9c8e-4d2f-8b3c-2345678901bc",
          user_id: "mallory",
          item_id: "sku-1",
          amount: 1,
          status: "FAILED_PAYMENT",
          reason: "payment declined",
          created_at: "2026-11-27T18:00:02.511Z",
          updated_at: "2026-11-27T18:00:02.630Z",
        },
      },
      invalid_request_id: {
        summary: "A request_id that is not one",
        params: { request_id: "no spaces allowed" },
        status: 400,
        response: {
          error: "validation_failed",
          errors: [{ field: "request_id", message: "must be 1-200 characters of A-Z a-z 0-9 _ . : -" }],
          correlation_id: CORRELATION,
        },
      },
      not_found: {
        summary: "No such order",
        params: { request_id: "5b3e4c1a-0d9f-4e3a-9c4d-3456789012cd" },
        status: 404,
        response: { error: "not_found", request_id: "5b3e4c1a-0d9f-4e3a-9c4d-3456789012cd" },
      },
      unauthorized: {
        summary: "Buyer identity on, and no token",
        identity: true,
        authorization: "none",
        params: { request_id: "5b3e4c1a-0d9f-4e3a-9c4d-3456789012cd" },
        status: 401,
        response: { message: "Unauthorized" },
      },
      invalid_user_claim: {
        summary: "Buyer identity on: the token's user claim is no user_id",
        identity: true,
        authorization: { token: { sub: "auth0|5fe435b5" } },
        params: { request_id: "5b3e4c1a-0d9f-4e3a-9c4d-3456789012cd" },
        status: 403,
        response: {
          error: "invalid_user_claim",
          message: "the token's sub claim is missing or is not a valid user id (1-100 characters of A-Z a-z 0-9 _ -)",
          correlation_id: CORRELATION,
        },
      },
      other_buyers_order: {
        summary: "Buyer identity on: bob asks for alice's order, which for him does not exist",
        identity: true,
        authorization: { token: { sub: "bob" } },
        setup: [SKU1, buyLine(order("alice", "6c4f5d2b-1e0a-4f4b-8d5e-4567890123de"))],
        params: { request_id: "6c4f5d2b-1e0a-4f4b-8d5e-4567890123de" },
        status: 404,
        response: { error: "not_found", request_id: "6c4f5d2b-1e0a-4f4b-8d5e-4567890123de" },
      },
      unavailable: unavailableExample,
    },
  },

  item: {
    tag: "public",
    summary: "An item as a storefront shows it (public, cacheable for one second)",
    description:
      "Stock left, state and the sale window, in one Redis call. Never shows in-flight, sold or limit figures. `Cache-Control: public, max-age=1`, so a CDN absorbs a refreshing crowd.",
    responses: {
      200: {
        description: "The item.",
        body: "ItemView",
        headers: { "Cache-Control": { required: true, description: "public, max-age=1" } },
      },
      400: responses.validation("`validation_failed`: item_id is not one."),
      404: { description: "`unknown_item`: not on sale.", body: "UnknownItem" },
      503: responses.unavailable,
    },
    examples: {
      live: {
        summary: "An item on sale",
        setup: [SKU1],
        params: { item_id: "sku-1" },
        status: 200,
        response: { item_id: "sku-1", stock_left: 100, starts_at: null, ends_at: null, state: "live" },
      },
      upcoming: {
        summary: "An item whose sale opens later: a storefront counts down to starts_at",
        setup: [UPCOMING],
        params: { item_id: "sku-next" },
        status: 200,
        response: { item_id: "sku-next", stock_left: 50, starts_at: "2099-11-27T18:00:00.000Z", ends_at: null, state: "upcoming" },
      },
      invalid_item_id: invalidItemId(),
      unknown_item: {
        summary: "An item not on sale",
        params: { item_id: "sku-404" },
        status: 404,
        response: { error: "unknown_item", item_id: "sku-404" },
      },
      unavailable: unavailableExample,
    },
  },

  health: {
    tag: "public",
    summary: "Checks Redis, the queue and the orders table for real",
    responses: {
      200: { description: "All ok.", body: "Health" },
      503: { description: "A dependency is unavailable.", body: "Health" },
    },
    examples: {
      ok: {
        summary: "All dependencies answer",
        status: 200,
        response: { status: "ok", redis: "ok", queue: "ok", orders_table: "ok", circuit_breaker_state: "closed" },
      },
      degraded: {
        summary: "Redis does not answer",
        status: 503,
        response: { status: "degraded", redis: "unavailable", queue: "ok", orders_table: "ok", circuit_breaker_state: "closed" },
        notReproduced: "needs a dependency down (test/e2e/http-contract.test.ts kills Redis)",
      },
    },
  },

  listItems: {
    tag: "operators",
    summary: "Items on sale with their levels (operators)",
    responses: {
      200: { description: "Every item on sale, with its levels.", body: "ItemList" },
      401: responses.adminUnauthorized,
      403: responses.iamForbidden,
      503: responses.unavailable,
    },
    examples: {
      items: { summary: "The items on sale", setup: [SKU1], status: 200, response: { items: [levelsSku1] } },
      unauthorized: adminUnauthorized,
      forbidden: iamForbidden,
      unavailable: unavailableExample,
    },
  },

  setStock: {
    tag: "operators",
    summary: "Set the remaining stock, the per-user limit and the sale window (operators)",
    description:
      "Sets the units left to sell (in-flight and sold units are kept: they belong to orders already admitted). Loading an item again without a window removes its window. An order admitted inside the window settles whenever its message is processed, after ends_at too.",
    requestBody: { schema: "StockUpdate", required: true },
    responses: {
      200: { description: "The item's levels after the change.", body: "Levels" },
      400: responses.validation(),
      401: responses.adminUnauthorized,
      403: responses.iamForbidden,
      413: responses.tooLarge,
      415: responses.notJson,
      503: responses.unavailable,
    },
    examples: {
      load: {
        summary: "Load 100 units, at most 2 per buyer",
        params: { item_id: "sku-1" },
        body: { stock: 100, per_user_limit: 2 },
        status: 200,
        response: levelsSku1,
      },
      with_window: {
        summary: "Load an item whose sale runs for one hour",
        params: { item_id: "sku-hour" },
        body: { stock: 100, per_user_limit: 2, starts_at: "2099-11-27T18:00:00Z", ends_at: "2099-11-27T19:00:00Z" },
        status: 200,
        response: { ...levelsSku1, item_id: "sku-hour", starts_at: "2099-11-27T18:00:00.000Z", ends_at: "2099-11-27T19:00:00.000Z" },
      },
      validation_failed: {
        summary: "A negative stock",
        params: { item_id: "sku-1" },
        body: { stock: -1 },
        status: 400,
        response: { error: "validation_failed", errors: [{ field: "stock", message: "Too small: expected number to be >=0" }], correlation_id: CORRELATION },
      },
      window_reversed: {
        summary: "A window that ends before it starts",
        params: { item_id: "sku-1" },
        body: { stock: 100, starts_at: "2099-11-27T19:00:00Z", ends_at: "2099-11-27T18:00:00Z" },
        status: 400,
        response: { error: "validation_failed", errors: [{ field: "ends_at", message: "must be later than starts_at" }], correlation_id: CORRELATION },
      },
      unauthorized: { ...adminUnauthorized, params: { item_id: "sku-1" }, body: { stock: 100 } },
      forbidden: iamForbidden,
      payload_too_large: tooLarge,
      unsupported_media_type: notJson,
      unavailable: unavailableExample,
    },
  },

  getItem: {
    tag: "operators",
    summary: "Stock, in flight and sold for an item (operators)",
    responses: {
      200: { description: "The item's levels.", body: "Levels" },
      400: responses.validation("`validation_failed`: item_id is not one."),
      401: responses.adminUnauthorized,
      403: responses.iamForbidden,
      404: { description: "`unknown_item`: stock was never loaded for it.", body: "UnknownItem" },
      503: responses.unavailable,
    },
    examples: {
      levels: { summary: "An item's levels", setup: [SKU1], params: { item_id: "sku-1" }, status: 200, response: levelsSku1 },
      invalid_item_id: invalidItemId(),
      unknown_item: { summary: "An item never loaded", params: { item_id: "sku-404" }, status: 404, response: { error: "unknown_item", item_id: "sku-404" } },
      unauthorized: { ...adminUnauthorized, params: { item_id: "sku-1" } },
      forbidden: iamForbidden,
      unavailable: unavailableExample,
    },
  },

  reconcile: {
    tag: "operators",
    summary: "Compare Redis counters with the order records; repair drift (operators)",
    description:
      'Without a body, or with `{"repair": false}`, reports drift. `{"repair": true}` fixes it through lua/reconcile.lua. After a cache loss, `{"repair": true, "total": <units on sale>, "per_user_limit": <n>}` rebuilds the counters from the recorded orders. See docs/operations.md.',
    requestBody: { schema: "ReconcileRequest", required: false, description: "Optional: without a body, a report." },
    responses: {
      200: { description: "The reconcile report: status in_sync, drift or repaired, with the drift found.", body: "ReconcileReport" },
      400: responses.validation(
        "`validation_failed`: a malformed body (an unknown field too), or an item with no counters in Redis (never loaded, or the cache was lost) and no `total` to rebuild them from (field `total`).",
      ),
      401: responses.adminUnauthorized,
      403: responses.iamForbidden,
      409: {
        description:
          "`conflict`: the repair cannot proceed: the item kept changing during it (retry, or pause the sale first), or an order completed in Redis has no order record yet (record it first). The message says which.",
        body: "Conflict",
      },
      413: responses.tooLarge,
      415: responses.notJson,
      503: responses.unavailable,
    },
    examples: {
      in_sync: {
        summary: "A report, without a body: Redis agrees with the orders",
        setup: [SKU1],
        params: { item_id: "sku-1" },
        status: 200,
        response: {
          item_id: "sku-1",
          status: "in_sync",
          current: { ...levelsSku1, total: 100 },
          expected: { stock: 100, in_flight: 0, sold: 0, total: 100 },
          drift: [],
          users_drift: [],
          ledger_missing: 0,
          ledger_mismatch: 0,
          stale_holds: [],
          orders: 0,
        },
      },
      rebuild: {
        summary: "After a cache loss: rebuild the counters of an item with 100 units on sale",
        params: { item_id: "sku-lost" },
        body: { repair: true, total: 100, per_user_limit: 2 },
        status: 200,
        response: {
          item_id: "sku-lost",
          status: "repaired",
          expected: { stock: 100, in_flight: 0, sold: 0, total: 100 },
          drift: [
            { field: "stock", current: null, expected: 100 },
            { field: "in_flight", current: null, expected: 0 },
            { field: "sold", current: null, expected: 0 },
            { field: "total", current: null, expected: 100 },
          ],
          users_drift: [],
          ledger_missing: 0,
          ledger_mismatch: 0,
          stale_holds: [],
          orders: 0,
          repaired: { item_id: "sku-lost", stock: 100, in_flight: 0, sold: 0, per_user_limit: 2 },
        },
      },
      rebuild_without_total: {
        summary: "A repair of an item with no counters in Redis, without the units on sale",
        params: { item_id: "sku-404" },
        body: { repair: true },
        status: 400,
        response: {
          error: "validation_failed",
          errors: [{ field: "total", message: "item sku-404 has no counters in Redis; pass the units on sale to rebuild them" }],
          correlation_id: CORRELATION,
        },
      },
      unknown_field: {
        summary: "A field reconcile does not know",
        setup: [SKU1],
        params: { item_id: "sku-1" },
        body: { repair: true, force: true },
        status: 400,
        response: { error: "validation_failed", errors: [{ field: "body", message: 'Unrecognized key: "force"' }], correlation_id: CORRELATION },
      },
      unauthorized: { ...adminUnauthorized, params: { item_id: "sku-1" } },
      forbidden: iamForbidden,
      conflict: {
        summary: "The item kept changing during the repair",
        status: 409,
        response: { error: "conflict", message: "item sku-1 kept changing during reconcile; retry, or pause the sale first", correlation_id: CORRELATION },
        notReproduced: "needs settlements racing the repair five times over",
      },
      payload_too_large: tooLarge,
      unsupported_media_type: notJson,
      unavailable: unavailableExample,
    },
  },

  report: {
    tag: "operators",
    summary: "Sale report of one item: sold, outcomes, rejections by reason, settle timings (operators)",
    description: "`npm run ops -- report` puts every item's report together, with a chart. An item never loaded has an empty report.",
    responses: {
      200: { description: "The item's sale report.", body: "SaleReportItem" },
      400: responses.validation("`validation_failed`: item_id is not one."),
      401: responses.adminUnauthorized,
      403: responses.iamForbidden,
      503: responses.unavailable,
    },
    examples: {
      report: {
        summary: "The report of an item",
        setup: [SKU1],
        params: { item_id: "sku-1" },
        status: 200,
        response: {
          item_id: "sku-1",
          levels: { ...levelsSku1, stock: 0, sold: 98 },
          units_sold: 98,
          orders: { COMPLETED: 97, FAILED_SOLD_OUT: 0, FAILED_LIMIT: 0, FAILED_PAYMENT: 2, FAILED_EXPIRED: 0 },
          rejected: { sold_out: 1834, duplicate_request: 41, purchase_limit_exceeded: 12, rate_limited: 3 },
          timings: {
            first_accepted_at: "2026-11-27T18:00:00.112Z",
            last_settled_at: "2026-11-27T18:00:04.870Z",
            sold_out_at: "2026-11-27T18:00:04.870Z",
            settle_ms: { p50: 95, p95: 240, p99: 410, max: 512 },
          },
          bucket_seconds: 1,
          timeline: [
            { start: "2026-11-27T18:00:00.000Z", completed: 31, failed: 1 },
            { start: "2026-11-27T18:00:01.000Z", completed: 44, failed: 0 },
            { start: "2026-11-27T18:00:02.000Z", completed: 15, failed: 1 },
            { start: "2026-11-27T18:00:03.000Z", completed: 6, failed: 0 },
            { start: "2026-11-27T18:00:04.000Z", completed: 1, failed: 0 },
          ],
        },
      },
      invalid_item_id: invalidItemId(),
      unauthorized: { ...adminUnauthorized, params: { item_id: "sku-1" } },
      forbidden: iamForbidden,
      unavailable: unavailableExample,
    },
  },
};

// ---- the document ----

const TAGS = [
  { name: "buyers", description: "The buyer routes: open, or with buyer identity on (per stage), a verified JWT names the buyer." },
  { name: "public", description: "Open to anyone, whatever the stage." },
  { name: "operators", description: "Operator routes: IAM (SigV4) on AWS, a bearer token in the local profile." },
];

const SECURITY: Record<Route["auth"], Json[]> = {
  public: [],
  // Optional: open unless the stage turns buyer identity on.
  buyer: [{}, { buyerJwt: [] }],
  admin: [{ adminToken: [] }, { sigv4: [] }],
};

const SECURITY_SCHEMES = {
  buyerJwt: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "Buyer identity, when the stage turns it on (stage config auth.jwt; locally AUTH_JWT_ISSUER, or AUTH_DEV_ISSUER=1): an RSA-signed JWT from the configured issuer, iss exact, aud (or client_id without aud) one of the audiences, exp in the future, nbf and iat not. The \"Bearer \" prefix is optional. The claim AUTH_USER_CLAIM (default sub) is the buyer's user_id. Off, the buyer routes are open.",
  },
  adminToken: {
    type: "http",
    scheme: "bearer",
    description: "Local profile only: Authorization: Bearer $ADMIN_TOKEN (npm start prints it).",
  },
  sigv4: {
    type: "apiKey",
    in: "header",
    name: "Authorization",
    description: "AWS: IAM authorization, requests signed with AWS Signature Version 4 (service execute-api).",
    "x-amazon-apigateway-authtype": "awsSigv4",
  },
};

const DESCRIPTION = [
  "POST /buy admits an order against the stock left and queues it; the processor settles it. Watch the order at GET /orders/{request_id}. Every error body names an `error` code (and may say more in `message`); 400s name each field.",
  "Buyer identity is per stage: off, the buyer routes are open and the body's user_id names the buyer (the caller, a storefront backend, vouches for it); on, they need a bearer JWT (`buyerJwt`), verified by the gateway, whose user claim names the buyer. The gateway's own 401 has no `error` code: `{\"message\":\"Unauthorized\"}`.",
  "Generated from the code by `npm run openapi` (scripts/openapi.ts): the routes from packages/core/src/contract/routes.ts, the schemas from the zod schemas the handlers use (packages/core/src/contract/http-schemas.ts).",
  "Examples: a named example of an operation's parameters and request body is answered as the response example of the same name. Its `x-setup` lists the requests made before it (admin routes with the admin token; with buyer identity on, a buy with a token for its user_id; with until, asked again until the answer has these fields); `x-buyer-identity` says it runs with buyer identity on; `x-authorization` says how the request is authorized when not as its security asks (`none`: no Authorization header; `token`: a buyer token with these claims). test/e2e/openapi-contract.test.ts sends each one to the local profile and checks the answer against this document; `x-not-reproduced` says why it cannot.",
].join("\n\n");

function pathParameters(route: Route): string[] {
  return [...route.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
}

function operation(route: Route, op: Operation, parameterSchemas: Record<string, Json>): Json {
  const examples = Object.entries(op.examples);
  for (const [name, ex] of examples) {
    if (!op.responses[ex.status]) throw new Error(`${route.name}: example ${name} answers ${ex.status}, which is not documented`);
    if (ex.body !== undefined && !op.requestBody) throw new Error(`${route.name}: example ${name} has a body, the operation none`);
    const sent = !ex.notReproduced;
    for (const p of pathParameters(route)) {
      if (sent && ex.params?.[p] === undefined) throw new Error(`${route.name}: example ${name} needs a value for ${p}`);
    }
  }
  const parameters: Json[] = pathParameters(route).map((name) => ({
    in: "path",
    name,
    required: true,
    schema: parameterSchemas[name] ?? (() => { throw new Error(`no schema for path parameter ${name}`); })(),
    examples: Object.fromEntries(examples.flatMap(([n, ex]) => (ex.params?.[name] !== undefined ? [[n, { value: ex.params[name] }]] : []))),
  }));
  if (route.handler !== "health") {
    parameters.push({
      in: "header",
      name: "x-correlation-id",
      required: false,
      schema: parameterSchemas["x-correlation-id"],
      description: "Kept and echoed (correlation_id) when sane; otherwise the gateway's request id is used.",
      ...(examples.some(([, ex]) => ex.correlationId)
        ? { examples: Object.fromEntries(examples.flatMap(([n, ex]) => (ex.correlationId ? [[n, { value: ex.correlationId }]] : []))) }
        : {}),
    });
  }
  const ref = (s: Schema) => ({ $ref: `#/components/schemas/${s}` });
  const responses = Object.fromEntries(
    Object.entries(op.responses)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, r]) => {
        const bodies = Array.isArray(r.body) ? r.body : [r.body];
        const headers = Object.entries(r.headers ?? {}).map(([name, h]) => [
          name,
          { description: h.description, ...(h.required ? { required: true } : {}), schema: { type: h.type ?? "string" } },
        ]);
        const exampleObjects = examples
          .filter(([, ex]) => ex.status === Number(status))
          .map(([n, ex]) => [
            n,
            {
              summary: ex.summary,
              value: ex.response,
              ...(ex.setup ? { "x-setup": ex.setup } : {}),
              ...(ex.identity ? { "x-buyer-identity": true } : {}),
              ...(ex.authorization ? { "x-authorization": ex.authorization } : {}),
              ...(ex.notReproduced ? { "x-not-reproduced": ex.notReproduced } : {}),
            },
          ]);
        return [
          status,
          {
            description: r.description,
            ...(headers.length ? { headers: Object.fromEntries(headers) } : {}),
            content: {
              "application/json": {
                schema: bodies.length === 1 ? ref(bodies[0]!) : { oneOf: bodies.map(ref) },
                ...(exampleObjects.length ? { examples: Object.fromEntries(exampleObjects) } : {}),
              },
            },
          },
        ];
      }),
  );
  const bodyExamples = examples.filter(([, ex]) => ex.body !== undefined).map(([n, ex]) => [n, { summary: ex.summary, value: ex.body }]);
  return {
    operationId: route.name,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    security: SECURITY[route.auth],
    ...(parameters.length ? { parameters } : {}),
    ...(op.requestBody
      ? {
          requestBody: {
            required: op.requestBody.required,
            ...(op.requestBody.description ? { description: op.requestBody.description } : {}),
            content: { "application/json": { schema: ref(op.requestBody.schema), examples: Object.fromEntries(bodyExamples) } },
          },
        }
      : {}),
    responses,
  };
}

/** The OpenAPI document, as a plain object. */
export function openApiDocument(): Json {
  const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
  const parameterSchemas = HttpSchemas.parameterSchemas();
  const paths: Record<string, Json> = {};
  for (const route of ROUTES) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route, OPERATIONS[route.name], parameterSchemas);
  }
  return {
    openapi: "3.1.0",
    info: { title: "Flash-sale order engine", version, description: DESCRIPTION },
    servers: [
      { url: "http://127.0.0.1:3000", description: "local profile (npm start)" },
      {
        url: "https://{apiId}.execute-api.{region}.amazonaws.com",
        description: "deployed stage (ApiUrl output)",
        variables: { apiId: { default: "example" }, region: { default: "us-east-1" } },
      },
    ],
    tags: TAGS,
    paths,
    components: { securitySchemes: SECURITY_SCHEMES, schemas: HttpSchemas.jsonSchemas() },
  };
}

const FLOW_MAX = 100;

function flowable(node: unknown): boolean {
  if (isMap(node)) {
    if (!node.items.length) return true;
    // Words keep a line of their own.
    if (!node.items.every((pair) => isScalar(pair.value) && !(isScalar(pair.key) && pair.key.value === "description"))) return false;
  } else if (isSeq(node)) {
    if (!node.items.length) return true;
    if (!node.items.every((item) => isScalar(item))) return false;
  } else return false;
  return JSON.stringify(node.toJSON()).length <= FLOW_MAX;
}

/** The document as docs/openapi.yaml holds it. */
export function renderOpenApi(): string {
  const header = "# Generated by `npm run openapi` (scripts/openapi.ts) from the code: edit that, not this file.\n";
  const doc = new Document(openApiDocument(), { aliasDuplicateObjects: false });
  // Small collections of scalars on one line ({ type: string, minLength: 1 }), as a person would write them.
  visit(doc, {
    Map: (_key, node) => void (node.flow = flowable(node)),
    Seq: (_key, node) => void (node.flow = flowable(node)),
  });
  return header + doc.toString({ lineWidth: 120, minContentWidth: 40 });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = renderOpenApi();
  if (process.argv.includes("--check")) {
    let committed = "";
    try {
      committed = readFileSync(OPENAPI_FILE, "utf8");
    } catch {
      /* missing: out of date */
    }
    if (committed !== text) {
      console.error("docs/openapi.yaml is out of date: run npm run openapi");
      process.exit(1);
    }
    console.log("docs/openapi.yaml is up to date");
  } else {
    writeFileSync(OPENAPI_FILE, text);
    console.log(`wrote ${OPENAPI_FILE}`);
  }
}
