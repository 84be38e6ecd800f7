import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type * as z from "zod";
import { CircuitOpenError, type DependencyUnavailableError, ValidationError } from "@flash/core/domain/errors";

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

  /** Parse and validate a JSON body; throws ValidationError naming each field, or BodyTooLargeError. */
  export function parseBody<S extends z.ZodType>(event: Event, schema: S): z.infer<S> {
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

  /** 503 with Retry-After; it names the dependency that is unavailable, which is safe to say. */
  export function unavailable(correlation: string, err?: DependencyUnavailableError): Result {
    const retryAfter = err instanceof CircuitOpenError ? err.retryAfterSeconds : 1;
    const body = { error: "unavailable", ...(err ? { dependency: err.dependency } : {}), correlation_id: correlation };
    return reply(503, body, { "retry-after": String(retryAfter) });
  }
}
