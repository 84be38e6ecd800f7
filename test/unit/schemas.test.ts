import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Order } from "@flash/core/domain/order";
import { Http } from "@flash/functions/http/http";
import { ValidationError } from "@flash/core/domain/errors";
import { Processor } from "@flash/functions/queue/processor";
import { failedMetric, rejectedMetric } from "@flash/core/contract/metrics";
import { SimulatedPayments } from "@flash/core/adapters/payments/simulated";

const event = (body: string | undefined, base64 = false) =>
  ({ body: base64 && body ? Buffer.from(body).toString("base64") : body, isBase64Encoded: base64 }) as Http.Event;

const fieldsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.fields;
    throw err;
  }
  throw new Error("expected a ValidationError");
};

const valid = { user_id: "u-1", item_id: "sku_1", amount: 2, request_id: "3f1c2a9e-8b7d-4c1e-9a2b-1234567890ab" };

describe("Order.Request", () => {
  it("accepts a well-formed order and a UUID request_id", () => {
    expect(Http.parseBody(event(JSON.stringify(valid)), Order.Request)).toEqual(valid);
  });

  it("ignores unknown fields, including __proto__", () => {
    const body = `{"user_id":"u","item_id":"i","amount":1,"request_id":"r","extra":1,"__proto__":{"polluted":true}}`;
    const parsed = Http.parseBody(event(body), Order.Request);
    expect(parsed).toEqual({ user_id: "u", item_id: "i", amount: 1, request_id: "r" });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ["amount", { ...valid, amount: 0 }],
    ["amount", { ...valid, amount: 1001 }],
    ["amount", { ...valid, amount: 1.5 }],
    ["amount", { ...valid, amount: "1" }],
    ["user_id", { ...valid, user_id: "" }],
    ["user_id", { ...valid, user_id: "a".repeat(101) }],
    ["item_id", { ...valid, item_id: "sku 1" }],
    ["item_id", { ...valid, item_id: "{sku}" }],
    ["request_id", { ...valid, request_id: "r".repeat(201) }],
    ["request_id", { ...valid, request_id: "r/1" }],
  ])("names the field %s when it is invalid", (field, body) => {
    expect(fieldsOf(() => Http.parseBody(event(JSON.stringify(body)), Order.Request)).map((f) => f.field)).toEqual([field]);
  });

  it("says which fields are missing", () => {
    const fields = fieldsOf(() => Http.parseBody(event(`{"amount":1}`), Order.Request));
    expect(fields).toEqual([
      { field: "user_id", message: "is required" },
      { field: "item_id", message: "is required" },
      { field: "request_id", message: "is required" },
    ]);
  });

  it.each([
    ["malformed JSON", "{", "is not valid JSON"],
    ["an empty body", undefined, "is required"],
    ["an array", "[1,2]", "must be a JSON object"],
    ["null", "null", "must be a JSON object"],
    ["a string", '"buy"', "must be a JSON object"],
  ])("rejects %s as a body error", (_name, body, message) => {
    expect(fieldsOf(() => Http.parseBody(event(body), Order.Request))).toEqual([{ field: "body", message }]);
  });

  it("decodes base64 bodies as API Gateway sends them", () => {
    expect(Http.parseBody(event(JSON.stringify(valid), true), Order.Request)).toEqual(valid);
  });

  it("refuses a body over 16 KiB", () => {
    const big = JSON.stringify({ ...valid, pad: "x".repeat(16 * 1024) });
    expect(() => Http.parseBody(event(big), Order.Request)).toThrow(Http.BodyTooLargeError);
  });

  it("never throws anything but a ValidationError for arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.json(), (json) => {
        try {
          Http.parseBody(event(json), Order.Request);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
          expect((err as ValidationError).fields.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("accepts every order inside the documented ranges", () => {
    const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,100}$/);
    fc.assert(
      fc.property(id, id, fc.integer({ min: 1, max: 1000 }), fc.stringMatching(/^[A-Za-z0-9_.:-]{1,200}$/), (user_id, item_id, amount, request_id) => {
        expect(Order.Request.safeParse({ user_id, item_id, amount, request_id }).success).toBe(true);
      }),
    );
  });
});

describe("queue messages", () => {
  it("parses an order message", () => {
    const msg = { ...valid, accepted_at: new Date().toISOString() };
    expect(Processor.parse(JSON.stringify(msg))).toEqual(msg);
  });

  it.each([["not json", "{"], ["wrong shape", `{"request_id":"r"}`]])("rejects a %s message as poison", (_n, body) => {
    expect(() => Processor.parse(body)).toThrow(expect.objectContaining({ name: "PoisonMessageError" }));
  });
});

describe("names and statuses", () => {
  it("derives metric names from reasons and statuses", () => {
    expect(rejectedMetric("sold_out")).toBe("RejectedSoldOut");
    expect(rejectedMetric("idempotency_key_reused")).toBe("RejectedIdempotencyKeyReused");
    expect(failedMetric("FAILED_PAYMENT")).toBe("FailedPayment");
  });

  it("knows which statuses are final", () => {
    expect(Order.isFinal("PENDING")).toBe(false);
    for (const s of Order.FINAL_STATUSES) expect(Order.isFinal(s)).toBe(true);
  });
});

describe("SimulatedPayments", () => {
  const order = (request_id: string, user_id = "u") => ({ ...valid, request_id, user_id, accepted_at: "t" });

  it("declines a listed user every time", async () => {
    const p = new SimulatedPayments({ failureRate: 0, declineUsers: new Set(["bad"]) });
    expect(await p.charge(order("r1", "bad"))).toBe("declined");
    expect(await p.charge(order("r1", "good"))).toBe("approved");
  });

  it("gives the same answer for the same request_id (idempotent like a real provider)", async () => {
    const p = new SimulatedPayments({ failureRate: 0.5 });
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => p.charge(order(`r${i}`))));
    const again = await Promise.all(Array.from({ length: 200 }, (_, i) => p.charge(order(`r${i}`))));
    expect(again).toEqual(answers);
    const declined = answers.filter((a) => a === "declined").length;
    expect(declined).toBeGreaterThan(60);
    expect(declined).toBeLessThan(140);
  });

  it("fails as unreachable when the provider is down", async () => {
    const p = new SimulatedPayments({ failureRate: 0, unavailable: true });
    await expect(p.charge(order("r"))).rejects.toMatchObject({ name: "DependencyUnavailableError", dependency: "payment" });
  });
});
