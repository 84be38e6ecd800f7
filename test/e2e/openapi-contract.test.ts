import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { waitFor } from "../support/fixtures";
import { replyOf, type Reply } from "../support/http";
import { dereferenced, examplesOf, schemaErrors, type SpecExample } from "../support/openapi";

// The contract, both ways: every example request of docs/openapi.yaml goes to the local profile (the handlers Lambda
// runs, behind the local gateway), and the answer must be the example's status, documented for the operation, with a
// body its schema accepts, field for field (no undocumented field), the example's error code, and every header the
// document says is always sent. An example says what it needs before it (x-setup), whether it runs with buyer identity
// on (x-buyer-identity), and how it is authorized (x-authorization); x-not-reproduced says why one is not sent.

/** What the examples assume of the engine: the rate_limited example is the sixth request, mallory's payment fails. */
const ENV = { RATE_LIMIT_MAX_REQUESTS: "5", RATE_LIMIT_WINDOW_SECONDS: "60", PAYMENT_DECLINE_USERS: "mallory" };

const doc = await dereferenced();
const all = examplesOf(doc);
const sent = all.filter((ex) => !ex.notReproduced);

async function send(engine: LocalEngine, method: string, path: string, body: unknown, headers: Record<string, string>): Promise<Reply> {
  const res = await fetch(engine.url + path, {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return replyOf(res); // a body that is not JSON stays text: the schema check says so
}

const adminHeaders = (engine: LocalEngine) => ({ authorization: `Bearer ${engine.adminToken}` });

/**
 * The requests an example needs before it: "[N× ]METHOD /path [JSON body] [until JSON]", the last asked again (for up
 * to 10 s) until its answer's body has the fields given.
 */
async function setUp(engine: LocalEngine, ex: SpecExample) {
  for (const line of ex.setup) {
    const [request, until] = line.split(" until ");
    const m = /^(?:(\d+)× )?(GET|PUT|POST) (\S+)(?: (.+))?$/.exec(request!);
    if (!m) throw new Error(`${ex.operationId} ${ex.name}: unreadable x-setup line: ${line}`);
    const [, times, method, path, json] = m;
    const body = json === undefined ? undefined : (JSON.parse(json) as Record<string, unknown>);
    const headers: Record<string, string> = path!.startsWith("/admin/") ? adminHeaders(engine) : {};
    // With buyer identity on, a buy is made by its user: a token for the body's user_id.
    if (engine.devIssuer && path === "/buy" && typeof body?.user_id === "string") headers.authorization = `Bearer ${(await engine.devIssuer.token(body.user_id)).token}`;
    if (until !== undefined) {
      const want = JSON.parse(until) as Record<string, unknown>;
      await waitFor(async () => {
        const r = await send(engine, method!, path!, body, headers);
        return Object.entries(want).every(([k, v]) => (r.body as Record<string, unknown>)?.[k] === v);
      }, 10_000);
      continue;
    }
    for (let i = 0; i < Number(times ?? 1); i++) {
      const r = await send(engine, method!, path!, body, headers);
      expect(r.status < 300 || r.status === 409, `${ex.operationId} ${ex.name}: setup ${line} answered ${r.status} ${JSON.stringify(r.body)}`).toBe(true);
    }
  }
}

async function check(engine: LocalEngine, ex: SpecExample) {
  await setUp(engine, ex);
  const path = ex.path.replace(/\{([a-z_]+)\}/g, (_m, name: string) => {
    const value = ex.params[name];
    if (value === undefined) throw new Error(`${ex.operationId} ${ex.name}: no example value for ${name}`);
    return encodeURIComponent(value);
  });
  const headers: Record<string, string> = { ...ex.requestHeaders };
  if (ex.authorization === undefined) {
    if (ex.security.some((s) => "adminToken" in s)) Object.assign(headers, adminHeaders(engine));
  } else if (ex.authorization !== "none") {
    headers.authorization = `Bearer ${await engine.devIssuer!.sign(ex.authorization.token)}`;
  }
  const r = await send(engine, ex.method, path, ex.body, headers);
  const label = `${ex.method} ${path} (${ex.name}) answered ${r.status} ${JSON.stringify(r.body)}`;
  expect(r.status, label).toBe(ex.status);
  expect(r.headers.get("content-type"), label).toMatch(/^application\/json/);
  expect(schemaErrors(ex.schema, r.body), label).toEqual([]);
  const code = (ex.response as { error?: string }).error;
  if (code !== undefined) expect((r.body as { error?: string }).error, label).toBe(code);
  for (const [name, header] of Object.entries(ex.headers)) {
    if (header.required) expect(r.headers.get(name), `${label}: header ${name}`).toBeTruthy();
  }
}

it("sends examples of every operation, and each example not sent says why", () => {
  const operations = new Set(Object.values<Record<string, any>>(doc.paths).flatMap((item) => Object.values<Record<string, any>>(item).map((op) => op.operationId)));
  expect(new Set(sent.map((ex) => ex.operationId))).toEqual(operations);
  for (const ex of all.filter((e) => e.notReproduced)) expect(ex.notReproduced!.length, `${ex.operationId} ${ex.name}`).toBeGreaterThan(10);
  expect(sent.length).toBeGreaterThan(35);
});

for (const identity of [false, true]) {
  describe(identity ? "with buyer identity on (AUTH_DEV_ISSUER=1)" : "with buyer identity off", () => {
    let engine: LocalEngine;
    beforeAll(async () => {
      // Its own redis-server, so the examples' fixed ids meet no other test's data.
      engine = await startLocalEngine({ port: 0, sweepIntervalMs: 0, storefront: false, env: { ...ENV, ...(identity ? { AUTH_DEV_ISSUER: "1" } : {}) } });
    });
    afterAll(async () => {
      await engine?.stop();
    });

    const cases = sent.filter((ex) => ex.identity === identity);
    it.each(cases.map((ex) => [`${ex.operationId} ${ex.name} → ${ex.status}`, ex] as const))("%s", async (_label, ex) => {
      await check(engine, ex);
    });
  });
}
