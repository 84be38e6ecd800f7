import { randomUUID } from "node:crypto";
import type {
  APIGatewayEventRequestContextJWTAuthorizer,
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
} from "aws-lambda";
import type * as z from "zod";
import type { MiddlewareObj } from "@middy/core";
import { CircuitOpenError, type DependencyUnavailableError, ValidationError } from "@flash/core/domain/errors";
import { Order } from "@flash/core/domain/order";

/** HTTP plumbing shared by the API handlers: bodies, field errors, correlation ids, JSON replies. */
export namespace Http {
  export type Event = APIGatewayProxyEventV2;
  export type Result = APIGatewayProxyStructuredResultV2;

  export const MAX_BODY_BYTES = 16 * 1024;

  export class BodyTooLargeError extends Error {
    override name = "BodyTooLargeError";
  }

  export function reply(statusCode: number, body: unknown, headers: Record<string, string> = {}): Result {
    return { statusCode, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
  }

  /** A caller-supplied x-correlation-id is kept when it is sane; otherwise API Gateway's request id. */
  export function correlationId(event: Event): string {
    const given = event.headers?.["x-correlation-id"];
    if (given && /^[A-Za-z0-9_.:-]{1,128}$/.test(given)) return given;
    return event.requestContext?.requestId || randomUUID();
  }

  /** Every reply names its request: the correlation id as an `x-correlation-id` header, errors included. */
  export const correlationHeader = (): MiddlewareObj<Event, Result> => ({
    after: (request) => {
      if (request.response) request.response.headers = { ...request.response.headers, "x-correlation-id": correlationId(request.event) };
    },
  });

  /** A body sent as something other than JSON (a form, plain text): 415. */
  export class UnsupportedMediaTypeError extends Error {
    override name = "UnsupportedMediaTypeError";
  }

  export function unsupportedMediaType(correlation: string): Result {
    return reply(415, { error: "unsupported_media_type", message: "send the body as application/json", correlation_id: correlation });
  }

  /**
   * Parse and validate a JSON body; throws ValidationError naming each field, BodyTooLargeError, or
   * UnsupportedMediaTypeError when a content-type other than JSON is declared (none declared is read as JSON).
   */
  export function parseBody<S extends z.ZodType>(event: Event, schema: S): z.infer<S> {
    const type = (event.headers?.["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type && type !== "application/json" && !type.endsWith("+json")) throw new UnsupportedMediaTypeError(`content-type ${type}`);
    const raw = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body) : "";
    if (Buffer.byteLength(raw, "utf8") > MAX_BODY_BYTES) throw new BodyTooLargeError(`body exceeds ${MAX_BODY_BYTES} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new ValidationError([{ field: "body", message: raw ? "is not valid JSON" : "is required" }]);
    }
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new ValidationError([{ field: "body", message: "must be a JSON object" }]);
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    const body = json as Record<string, unknown>;
    const fields = new Map<string, string>(); // the first problem of each field is enough to fix it
    for (const issue of parsed.error.issues) {
      const field = issue.path.length ? issue.path.join(".") : "body";
      const missing = issue.path.length === 1 && !Object.hasOwn(body, String(issue.path[0]));
      if (!fields.has(field)) fields.set(field, missing ? "is required" : issue.message);
    }
    throw new ValidationError([...fields].map(([field, message]) => ({ field, message })));
  }

  export function validationFailed(err: ValidationError, correlation: string): Result {
    return reply(400, { error: "validation_failed", errors: err.fields, correlation_id: correlation });
  }

  export function tooLarge(correlation: string): Result {
    return reply(413, { error: "payload_too_large", message: `body must be at most ${MAX_BODY_BYTES} bytes`, correlation_id: correlation });
  }

  /**
   * Who is buying, as the gateway established it. With buyer identity on (`userClaim`: AUTH_USER_CLAIM), the gateway
   * (API Gateway's JWT authorizer, or the local gateway standing in for it) verified a token and put its claims in
   * requestContext.authorizer.jwt.claims; the buyer is the value of that claim. Off, anyone may call, and the body's
   * user_id names the buyer.
   */
  export type Buyer =
    | { kind: "anyone" }
    | { kind: "user"; userId: string }
    /** Identity is on but no verified claims reached the function: answered as the gateway answers a bad token. */
    | { kind: "unauthenticated" }
    /** A verified token whose user claim is missing or is not a valid user id. */
    | { kind: "unusable_claim"; claim: string };

  export function buyer(event: Event, userClaim: string | undefined): Buyer {
    if (userClaim === undefined) return { kind: "anyone" };
    const authorizer = (event.requestContext as { authorizer?: Partial<APIGatewayEventRequestContextJWTAuthorizer> } | undefined)?.authorizer;
    const claims = authorizer?.jwt?.claims;
    if (!claims || typeof claims !== "object") return { kind: "unauthenticated" };
    const value = Object.hasOwn(claims, userClaim) ? claims[userClaim] : undefined;
    const userId = typeof value === "string" || typeof value === "number" ? String(value) : undefined;
    return userId !== undefined && Order.id.safeParse(userId).success ? { kind: "user", userId } : { kind: "unusable_claim", claim: userClaim };
  }

  /** What API Gateway answers for a missing or invalid token: the same status and body, so no client can tell. */
  export function unauthorized(): Result {
    return reply(401, { message: "Unauthorized" });
  }

  /** 401 or 403 for a buyer that cannot be identified; undefined for a buyer who can. */
  export function unidentified(who: Buyer, correlation: string): Result | undefined {
    if (who.kind === "unauthenticated") return unauthorized();
    if (who.kind === "unusable_claim") {
      return reply(403, {
        error: "invalid_user_claim",
        message: `the token's ${who.claim} claim is missing or is not a valid user id (1-100 characters of A-Z a-z 0-9 _ -)`,
        correlation_id: correlation,
      });
    }
    return undefined;
  }

  /** 503 with Retry-After; it names the dependency that is unavailable, which is safe to say. */
  export function unavailable(correlation: string, err?: DependencyUnavailableError): Result {
    const retryAfter = err instanceof CircuitOpenError ? err.retryAfterSeconds : 1;
    const body = { error: "unavailable", ...(err ? { dependency: err.dependency } : {}), correlation_id: correlation };
    return reply(503, body, { "retry-after": String(retryAfter) });
  }
}
