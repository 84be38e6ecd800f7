import { createHmac } from "node:crypto";
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { DEV_AUDIENCE, DevIssuer } from "@flash/local/dev-issuer";
import { JwtAuthorizer } from "@flash/local/jwt";
import { runOps } from "../../scripts/ops/cli";
import { client } from "../support/http";
import { uid, waitFor } from "../support/fixtures";

// Buyer identity through the local profile, with no mock anywhere: the engine runs its dev issuer (AUTH_DEV_ISSUER=1),
// its gateway verifies tokens as API Gateway's JWT authorizer does, and the handlers read the claims where API Gateway
// puts them. A second engine trusts the first as an external OpenID Connect issuer (AUTH_JWT_ISSUER), as a stage
// trusts Cognito.
let engine: LocalEngine;
let relying: LocalEngine;
let api: ReturnType<typeof client>;
let issuer: DevIssuer;

beforeAll(async () => {
  const common = { port: 0, redisUrl: inject("redisUrl"), sweepIntervalMs: 0, processorConcurrency: 2 };
  engine = await startLocalEngine({ ...common, env: { AUTH_DEV_ISSUER: "1" } });
  relying = await startLocalEngine({ ...common, env: { AUTH_JWT_ISSUER: engine.url, AUTH_JWT_AUDIENCE: `other-app, ${DEV_AUDIENCE}` } });
  api = client(engine);
  issuer = engine.devIssuer!;
});

afterAll(async () => {
  await relying?.stop();
  await engine?.stop();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const tokenFor = async (user: string) => (await issuer.token(user)).token;
const order = (item: string, extra: Record<string, unknown> = {}) => ({ item_id: item, amount: 1, request_id: crypto.randomUUID(), ...extra });

async function loadedItem(stock = 10, limit = 5) {
  const item = uid("sku");
  expect((await api.setStock(item, stock, limit)).status).toBe(200);
  return item;
}

const settled = (requestId: string, token: string, on = api) =>
  waitFor(async () => {
    const r = await on.order(requestId, bearer(token));
    return r.status === 200 && r.body.status !== "PENDING" ? r.body : undefined;
  });

/** A token signed with HMAC instead of RSA, naming the issuer's own kid. */
function hmacToken(kid: string, claims: Record<string, unknown>): string {
  const part = (x: unknown) => Buffer.from(JSON.stringify(x)).toString("base64url");
  const head = `${part({ alg: "HS256", typ: "JWT", kid })}.${part(claims)}`;
  return `${head}.${createHmac("sha256", "guessable").update(head).digest("base64url")}`;
}

describe("with buyer identity (the dev issuer)", () => {
  it("reports what it runs: the engine's URL as issuer, the dev audience, the buyer in sub", () => {
    expect(engine.auth).toEqual({ issuer: engine.url, audience: [DEV_AUDIENCE], userClaim: "sub", dev: true });
    expect(engine.config.AUTH_USER_CLAIM).toBe("sub");
  });

  it("accepts a valid token with 202, and the order belongs to the token's user", async () => {
    const item = await loadedItem();
    const token = await tokenFor("alice");
    const body = order(item); // no user_id: the token names the buyer
    const r = await api.buy(body, bearer(token));
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ request_id: body.request_id, status: "PENDING" });
    expect(await settled(body.request_id, token)).toMatchObject({ request_id: body.request_id, user_id: "alice", item_id: item, status: "COMPLETED" });
  });

  it("accepts user_id in the body when it is the token's user", async () => {
    const item = await loadedItem();
    const r = await api.buy(order(item, { user_id: "bob" }), bearer(await tokenFor("bob")));
    expect(r.status).toBe(202);
  });

  it("answers 403 user_mismatch when the body names another user, and takes nothing", async () => {
    const item = await loadedItem(3);
    const r = await api.buy(order(item, { user_id: "mallory" }), bearer(await tokenFor("bob")));
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: "user_mismatch" });
    expect(r.body.message).toMatch(/token/);
    expect((await api.levels(item)).body).toMatchObject({ stock: 3, in_flight: 0, sold: 0 });
  });

  it("still validates the body: 400 naming the field", async () => {
    const r = await api.buy({ item_id: "x", amount: 0, request_id: "r" }, bearer(await tokenFor("bob")));
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { field: string }) => e.field)).toEqual(["amount"]);
  });

  it("accepts the token with or without the Bearer prefix, as API Gateway does", async () => {
    const item = await loadedItem();
    expect((await api.buy(order(item), { authorization: await tokenFor("carol") })).status).toBe(202);
    expect((await api.buy(order(item), { authorization: `bearer ${await tokenFor("carol")}` })).status).toBe(202);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const refused: [string, () => Promise<Record<string, string>>][] = [
    ["no token", async () => ({})],
    ["an empty Authorization header", async () => ({ authorization: "Bearer " })],
    ["an expired token", async () => bearer(await issuer.sign({ sub: "alice", iat: now() - 7200, exp: now() - 60 }))],
    ["a token for another audience", async () => bearer(await issuer.sign({ sub: "alice", aud: "someone-else" }))],
    ["a token from another issuer", async () => bearer(await issuer.sign({ sub: "alice", iss: "https://evil.example.org" }))],
    ["a token signed by a key the issuer does not publish", async () => {
      const forger = await DevIssuer.create();
      forger.setIssuer(engine.url);
      return bearer(await forger.sign({ sub: "alice" }));
    }],
    ["a token signed by another key under the issuer's kid", async () => {
      const forger = await DevIssuer.create();
      forger.setIssuer(engine.url);
      return bearer(await forger.sign({ sub: "alice" }, { kid: issuer.jwks().keys[0]!.kid }));
    }],
    ["an HMAC-signed token", async () => bearer(hmacToken(issuer.jwks().keys[0]!.kid!, { iss: engine.url, aud: DEV_AUDIENCE, sub: "alice", exp: now() + 600 }))],
    ["a token without exp", async () => bearer(await issuer.sign({ sub: "alice", exp: undefined }))],
    ["a token not valid yet (nbf)", async () => bearer(await issuer.sign({ sub: "alice", nbf: now() + 600 }))],
    ["a token issued in the future (iat)", async () => bearer(await issuer.sign({ sub: "alice", iat: now() + 600 }))],
    ["something that is not a JWT", async () => bearer("not-a-token")],
  ];

  it.each(refused)("answers 401 {message: Unauthorized} to %s, on both buyer routes, and takes nothing", async (_name, headers) => {
    const item = await loadedItem(2);
    const h = await headers();
    const r = await api.buy(order(item, { user_id: "alice" }), h);
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ message: "Unauthorized" });
    expect(r.headers.get("www-authenticate")).toMatch(/^Bearer /);
    const o = await api.order(crypto.randomUUID(), h);
    expect(o.status).toBe(401);
    expect(o.body).toEqual({ message: "Unauthorized" });
    expect((await api.levels(item)).body).toMatchObject({ stock: 2, in_flight: 0 });
  });

  it("answers 404 for another user's order, exactly as for one that does not exist, and 200 to its buyer", async () => {
    const item = await loadedItem();
    const alice = await tokenFor("alice");
    const body = order(item);
    expect((await api.buy(body, bearer(alice))).status).toBe(202);
    await settled(body.request_id, alice);
    const mine = await api.order(body.request_id, bearer(alice));
    expect(mine.status).toBe(200);
    expect(mine.body.user_id).toBe("alice");
    const theirs = await api.order(body.request_id, bearer(await tokenFor("eve")));
    expect(theirs.status).toBe(404);
    expect(theirs.body).toEqual({ error: "not_found", request_id: body.request_id });
    const missing = crypto.randomUUID();
    expect((await api.order(missing, bearer(await tokenFor("eve")))).body).toEqual({ error: "not_found", request_id: missing });
  });

  it("answers 403 invalid_user_claim for a verified token whose claim is no user id", async () => {
    const item = await loadedItem();
    for (const claims of [{ sub: "auth0|5fe435b5" }, { sub: undefined }]) {
      const r = await api.buy(order(item), bearer(await issuer.sign(claims)));
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ error: "invalid_user_claim" });
    }
  });

  it("leaves /health public and the admin routes on the admin token", async () => {
    expect([200, 503]).toContain((await api.health()).status);
    const item = uid("sku");
    expect((await api.call("PUT", `/admin/items/${item}`, { stock: 1 }, bearer(await tokenFor("alice")))).status).toBe(401);
    expect((await api.setStock(item, 1)).status).toBe(200);
  });

  it("serves its discovery document and key set, and hands tokens to the operator only", async () => {
    const config = (await (await fetch(`${engine.url}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    expect(config).toMatchObject({ issuer: engine.url, jwks_uri: `${engine.url}/.well-known/jwks.json` });
    const jwks = (await (await fetch(config.jwks_uri)).json()) as { keys: Record<string, string>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
    expect(jwks.keys[0]!.d).toBeUndefined(); // the public half only
    const mint = (headers: Record<string, string>, body: unknown = { user_id: "alice" }) => api.call("POST", "/.well-known/dev-token", body, headers);
    // Open, like a dev sign-in page (the storefront signs shoppers in with it): only the body is checked.
    expect((await mint({})).status).toBe(200);
    expect((await mint({}, { user_id: "a b" })).status).toBe(400);
    const issued = await mint(bearer(engine.adminToken), { user_id: "alice", ttl_seconds: 60 });
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ token_type: "Bearer", user_id: "alice", issuer: engine.url, audience: DEV_AUDIENCE });
    expect(Date.parse(issued.body.expires_at) - Date.now()).toBeLessThanOrEqual(60_000);
  });
});

describe("ops token", () => {
  const env = () => ({ API_URL: engine.url, ADMIN_TOKEN: engine.adminToken });
  async function ops(argv: string[], e: NodeJS.ProcessEnv = env()) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runOps(argv, { env: e, out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  it("prints a token the gateway accepts for that buyer, end to end", async () => {
    const r = await ops(["token", "dana"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/); // the token alone, for $(...)
    const item = await loadedItem();
    const body = order(item);
    expect((await api.buy(body, bearer(r.out))).status).toBe(202);
    expect(await settled(body.request_id, r.out)).toMatchObject({ user_id: "dana", status: "COMPLETED" });
    const json = JSON.parse((await ops(["token", "dana", "--ttl", "120", "--json"])).out);
    expect(json).toMatchObject({ user_id: "dana", issuer: engine.url, token_type: "Bearer" });
  });

  it("works as `npm run ops -- token <user_id>` from a shell", async () => {
    const child = spawn("npm", ["run", "--silent", "ops", "--", "token", "erin"], { env: { ...process.env, ...env() }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (c) => (stdout += c));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    const token = stdout.trim();
    expect(token.split(".")).toHaveLength(3);
    const item = await loadedItem();
    const body = order(item);
    expect((await api.buy(body, bearer(token))).status).toBe(202);
    expect(await settled(body.request_id, token)).toMatchObject({ user_id: "erin" });
  });

  it("fails plainly without a user, and against a profile with no dev issuer", async () => {
    expect((await ops(["token"])).code).toBe(2);
    expect((await ops(["token", "dana"], { API_URL: engine.url })).code).toBe(2); // no admin token: not the local profile
    const elsewhere = await ops(["token", "dana"], { API_URL: relying.url, ADMIN_TOKEN: relying.adminToken });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.err).toContain("has no dev issuer");
  });
});

describe("with an external issuer (AUTH_JWT_ISSUER)", () => {
  it("finds the issuer's keys through its discovery document and takes its tokens", async () => {
    expect(relying.auth).toMatchObject({ issuer: engine.url, audience: ["other-app", DEV_AUDIENCE], dev: false });
    const remote = client(relying);
    const item = uid("sku");
    expect((await remote.setStock(item, 5, 5)).status).toBe(200);
    const token = await tokenFor("frank");
    const body = order(item);
    expect((await remote.buy(body, bearer(token))).status).toBe(202);
    expect(await settled(body.request_id, token, remote)).toMatchObject({ user_id: "frank", status: "COMPLETED" });
    expect((await remote.buy(order(item), bearer(await issuer.sign({ sub: "frank", aud: "not-ours" })))).status).toBe(401);
    // client_id stands in for a missing aud (Cognito access tokens)
    expect((await remote.buy(order(item), bearer(await issuer.sign({ sub: "frank", aud: undefined, client_id: "other-app" })))).status).toBe(202);
    expect((await remote.buy(order(item), bearer(await issuer.sign({ sub: "frank", aud: undefined, client_id: "nope" })))).status).toBe(401);
  });

  it("verifies with an explicit key set URL (AUTH_JWKS_URL) as well", async () => {
    const authorizer = new JwtAuthorizer({ issuer: engine.url, audience: [DEV_AUDIENCE], jwks: `${engine.url}/.well-known/jwks.json` });
    const ok = await authorizer.authorize(`Bearer ${await tokenFor("gina")}`);
    expect(ok).toMatchObject({ ok: true, scopes: null, claims: { sub: "gina", iss: engine.url, aud: DEV_AUDIENCE } });
    if (ok.ok) expect(typeof ok.claims.exp).toBe("string"); // every claim a string, as API Gateway passes them
    expect(await authorizer.authorize(undefined)).toEqual({ ok: false, reason: "the token is missing" });
    expect(await authorizer.authorize(`Bearer ${await issuer.sign({ exp: Math.floor(Date.now() / 1000) - 5 })}`)).toEqual({ ok: false, reason: "the token has expired" });
  });
});

describe("configuration", () => {
  it.each([
    [{ AUTH_JWT_ISSUER: "https://issuer.example.org" }, /AUTH_JWT_ISSUER needs AUTH_JWT_AUDIENCE/],
    [{ AUTH_DEV_ISSUER: "1", AUTH_JWT_ISSUER: "https://issuer.example.org" }, /AUTH_DEV_ISSUER=1 is its own issuer/],
    [{ AUTH_USER_CLAIM: "sub" }, /AUTH_USER_CLAIM set without AUTH_JWT_ISSUER or AUTH_DEV_ISSUER=1/],
    [{ AUTH_JWT_ISSUER: "not a url", AUTH_JWT_AUDIENCE: "a" }, /invalid configuration: AUTH_JWT_ISSUER/],
  ])("refuses half a configuration before starting anything: %o", async (env, message) => {
    await expect(startLocalEngine({ port: 0, redisUrl: "redis://127.0.0.1:1", env })).rejects.toThrow(message);
  });
});
