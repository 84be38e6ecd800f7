import { describe, expect, it } from "vitest";
import { Http } from "@flash/functions/http/http";

// How a handler learns who is buying: from the claims API Gateway's JWT authorizer (or the local gateway standing in
// for it) put in the event, never from anything the caller controls, and only when buyer identity is on.
const event = (authorizer?: unknown): Http.Event =>
  ({ version: "2.0", routeKey: "POST /buy", rawPath: "/buy", rawQueryString: "", headers: {}, isBase64Encoded: false, requestContext: { requestId: "r", ...(authorizer ? { authorizer } : {}) } }) as unknown as Http.Event;
const withClaims = (claims: Record<string, unknown>) => event({ jwt: { claims, scopes: null } });

describe("Http.buyer", () => {
  it("is anyone when buyer identity is off, whatever the event carries", () => {
    expect(Http.buyer(withClaims({ sub: "alice" }), undefined)).toEqual({ kind: "anyone" });
    expect(Http.unidentified({ kind: "anyone" }, "c")).toBeUndefined();
  });

  it("is the user the configured claim names", () => {
    expect(Http.buyer(withClaims({ sub: "alice", iss: "https://issuer" }), "sub")).toEqual({ kind: "user", userId: "alice" });
    expect(Http.buyer(withClaims({ sub: "x", "custom:buyer": "b-42" }), "custom:buyer")).toEqual({ kind: "user", userId: "b-42" });
    expect(Http.buyer(withClaims({ uid: 1234 }), "uid")).toEqual({ kind: "user", userId: "1234" });
  });

  it("is unauthenticated (401, API Gateway's body) when identity is on but no verified claims arrived", () => {
    for (const e of [event(), event({}), event({ jwt: {} }), event({ lambda: { sub: "alice" } })]) {
      const who = Http.buyer(e, "sub");
      expect(who).toEqual({ kind: "unauthenticated" });
      const reply = Http.unidentified(who, "c")!;
      expect(reply.statusCode).toBe(401);
      expect(JSON.parse(reply.body!)).toEqual({ message: "Unauthorized" });
    }
  });

  it("refuses (403 invalid_user_claim) a claim that is missing, inherited or not a user id", () => {
    for (const claims of [{}, { sub: "auth0|abc" }, { sub: "" }, { sub: ["a", "b"] }, { sub: "x".repeat(101) }, Object.create({ sub: "alice" })]) {
      const who = Http.buyer(withClaims(claims), "sub");
      expect(who).toEqual({ kind: "unusable_claim", claim: "sub" });
      const reply = Http.unidentified(who, "c")!;
      expect(reply.statusCode).toBe(403);
      expect(JSON.parse(reply.body!)).toMatchObject({ error: "invalid_user_claim", correlation_id: "c" });
    }
  });
});
