import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTES, routeKey } from "@flash/core/contract/routes";
import { resolveBuyerJwt, stagingConfig, validateStageConfig, type StageConfig } from "../../stacks/config.js";
import { synth, type Synth } from "./synth.js";

// Buyer identity on a stage: the deploy's environment names the issuer (as it would a Cognito user pool's), and the
// stage is synthesized offline like the others, cdk-nag included. In its own file (and process): it runs in
// parallel with stacks.test.ts, whose stages have buyer identity off.
const ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example1";
const BUYER_ROUTES = ROUTES.filter((r) => r.auth === "buyer").map(routeKey);

let staging: Synth;

beforeAll(async () => {
  staging = await synth(
    "staging",
    "deploy",
    { ALARM_EMAILS: undefined, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: "storefront-client, app-client", AUTH_USER_CLAIM: undefined },
    { nag: true },
  );
}, 180_000);

afterAll(() => {
  if (staging) fs.rmSync(staging.outdir, { recursive: true, force: true });
});

const routes = (s: Synth) => Object.fromEntries(s.resources("AWS::ApiGatewayV2::Route").map((r) => [r.resource.Properties.RouteKey as string, r.resource.Properties]));

describe("buyer identity configured (auth.jwt)", () => {
  it("has one JWT authorizer: the issuer, the audiences, the token from the Authorization header", () => {
    const authorizers = staging.resources("AWS::ApiGatewayV2::Authorizer");
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]!.resource.Properties).toMatchObject({
      AuthorizerType: "JWT",
      IdentitySource: ["$request.header.Authorization"],
      JwtConfiguration: { Issuer: ISSUER, Audience: ["storefront-client", "app-client"] },
    });
  });

  it("puts it on exactly the buyer routes; health stays public and the admin routes keep IAM", () => {
    const all = routes(staging);
    const authorizerId = staging.resources("AWS::ApiGatewayV2::Authorizer")[0]!.id;
    expect(BUYER_ROUTES.sort()).toEqual(["GET /orders/{request_id}", "POST /buy"]);
    const withJwt = Object.keys(all).filter((key) => all[key].AuthorizationType === "JWT");
    expect(withJwt.sort()).toEqual(BUYER_ROUTES);
    for (const key of withJwt) expect(all[key].AuthorizerId, key).toEqual({ Ref: authorizerId });
    expect(all["GET /health"].AuthorizationType).toBe("NONE");
    // The 405 routes behind the buyer paths read no data and stay open: a wrong method is told the right one.
    expect(all["ANY /buy"].AuthorizationType).toBe("NONE");
    const admin = Object.keys(all).filter((key) => key.includes(" /admin/"));
    expect(admin).toHaveLength(5);
    for (const key of admin) expect(all[key].AuthorizationType, key).toBe("AWS_IAM");
  });

  it("tells every function which claim names the buyer (sub by default)", () => {
    for (const f of staging.functions()) expect(f.resource.Properties.Environment.Variables.AUTH_USER_CLAIM, f.id).toBe("sub");
  });

  it("lets a browser send the token: CORS allows the Authorization header", () => {
    const api = staging.resources("AWS::ApiGatewayV2::Api")[0]!.resource.Properties;
    expect(api.CorsConfiguration.AllowHeaders.sort()).toEqual(["authorization", "content-type"]);
  });

  it("passes cdk-nag with APIG4 suppressed only on the public routes (health, the item view, the 405s)", () => {
    const findings = staging.nag.map((f) => `${f.level} ${f.path} ${f.rule}`);
    expect(findings).toEqual([]);
    for (const r of staging.resources("AWS::ApiGatewayV2::Route")) {
      const suppressed = (r.resource.Metadata?.cdk_nag?.rules_to_suppress ?? []).map((x: { id: string }) => x.id);
      expect(suppressed.includes("AwsSolutions-APIG4"), r.resource.Properties.RouteKey).toBe(
        ["GET /health", "GET /items/{item_id}"].includes(r.resource.Properties.RouteKey) || r.resource.Properties.RouteKey.startsWith("ANY "),
      );
    }
  });
});

describe("resolveBuyerJwt", () => {
  const withJwt = (jwt: NonNullable<StageConfig["auth"]>["jwt"]): StageConfig => ({ ...stagingConfig, auth: { jwt } });

  it("is off without auth.jwt and without AUTH_JWT_ISSUER", () => {
    expect(resolveBuyerJwt("staging", stagingConfig, {})).toBeUndefined();
  });

  it("takes auth.jwt from the stage config, userClaim sub by default", () => {
    const config = withJwt({ issuer: ISSUER, audience: ["a"] });
    expect(() => validateStageConfig("staging", config)).not.toThrow();
    expect(resolveBuyerJwt("staging", config, {})).toEqual({ issuer: ISSUER, audience: ["a"], userClaim: "sub" });
    expect(resolveBuyerJwt("staging", withJwt({ issuer: ISSUER, audience: ["a"], userClaim: "custom:buyer" }), {})?.userClaim).toBe("custom:buyer");
  });

  it("lets the deploy's environment replace it", () => {
    const config = withJwt({ issuer: ISSUER, audience: ["a"] });
    const env = { AUTH_JWT_ISSUER: "https://issuer.example.org/", AUTH_JWT_AUDIENCE: "x,y", AUTH_USER_CLAIM: "uid" };
    expect(resolveBuyerJwt("staging", config, env)).toEqual({ issuer: "https://issuer.example.org/", audience: ["x", "y"], userClaim: "uid" });
  });

  it("refuses an issuer API Gateway would not accept, and a missing audience", () => {
    expect(() => resolveBuyerJwt("staging", stagingConfig, { AUTH_JWT_ISSUER: "http://127.0.0.1:3000", AUTH_JWT_AUDIENCE: "a" })).toThrow(/must be an https URL/);
    expect(() => resolveBuyerJwt("staging", stagingConfig, { AUTH_JWT_ISSUER: ISSUER })).toThrow(/audience must list at least one/);
    expect(() => validateStageConfig("staging", withJwt({ issuer: `${ISSUER}?x=1`, audience: ["a"] }))).toThrow(/auth.jwt: issuer .* must be an https URL/);
    expect(() => validateStageConfig("staging", withJwt({ issuer: ISSUER, audience: [] }))).toThrow(/auth.jwt: audience/);
  });
});
