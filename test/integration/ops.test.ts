import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { freePort } from "@flash/local/redis-server";
import { itemKeys, ITEMS_KEY, parseLedgerEntry } from "@flash/core/adapters/redis/keys";
import { connectRedis } from "@flash/core/adapters/redis/client";
import { type RedisClient } from "@flash/core/adapters/redis/scripts";
import { sqsClient } from "@flash/core/adapters/sqs/queue";
import { runOps, type Io } from "../../scripts/ops/cli";
import { explainHttpError, resolveTarget, signRequest } from "../../scripts/ops/target";
import { writeProfile, type LocalProfile } from "../../scripts/ops/profile";
import { uid, waitFor } from "../support/fixtures";

// The ops CLI, in-process, against the local profile: real Redis, fauxqs and dynalite, the real handlers.
let engine: LocalEngine;
let redis: RedisClient;
let sqs: SQSClient;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  engine = await startLocalEngine({
    port: 0,
    redisUrl: inject("redisUrl"),
    processorConcurrency: 2,
    maxReceiveCount: 2,
    visibilityTimeoutSeconds: 1,
    sweepIntervalMs: 0,
    env: { PAYMENT_DECLINE_USERS: "decliner", RATE_LIMIT_MAX_REQUESTS: "4", RATE_LIMIT_WINDOW_SECONDS: "60" },
  });
  redis = connectRedis({ REDIS_URL: engine.redisUrl, REDIS_CLUSTER: "false", REDIS_CONNECT_TIMEOUT_MS: 1000, REDIS_COMMAND_TIMEOUT_MS: 1000 });
  sqs = await sqsClient({ AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_SQS: engine.resources.sqsEndpoint });
  // Exactly what `npm start` prints for the CLI.
  env = {
    API_URL: engine.url,
    ADMIN_TOKEN: engine.adminToken,
    QUEUE_URL: engine.resources.queueUrl,
    DLQ_URL: engine.resources.dlqUrl,
    AWS_ENDPOINT_URL_SQS: engine.resources.sqsEndpoint,
    AWS_REGION: "us-east-1",
  };
});

afterAll(async () => {
  redis?.disconnect();
  sqs?.destroy();
  await engine?.stop();
});

/** Run the CLI in-process; `io` replaces the environment, adds a working directory or stdin. */
async function opsWith(io: Partial<Io>, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOps(argv, { env, ...io, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const ops = (...argv: string[]) => opsWith({}, ...argv);

async function opsJson<T>(...argv: string[]): Promise<T> {
  const r = await ops(...argv, "--json");
  expect(r.err).toBe("");
  return JSON.parse(r.out) as T;
}

const buy = (item_id: string, user_id: string, request_id = uid("r"), amount = 1) =>
  fetch(`${engine.url}/buy`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ item_id, user_id, amount, request_id }),
  }).then((r) => ({ status: r.status, request_id }));

const getOrder = async (rid: string) => (await (await fetch(`${engine.url}/orders/${rid}`)).json()) as Record<string, string>;
const orderStatus = async (rid: string) => (await getOrder(rid)).status;

async function depth(url: string): Promise<number> {
  const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }))).Attributes!;
  return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible);
}

const drained = () => waitFor(async () => (await depth(engine.resources.queueUrl)) === 0, 10_000);

describe("ops stock", () => {
  it("loads stock, shows one item and lists all, through the admin API", async () => {
    const item = uid("sku");
    const loaded = await ops("stock", item, "--set", "10", "--limit", "2");
    expect(loaded.code).toBe(0);
    expect(loaded.out).toMatch(new RegExp(`loaded: ${item}\\s+stock\\s+10\\s+in flight\\s+0\\s+sold\\s+0\\s+per-user limit 2`));
    expect(await opsJson(`stock`, item)).toEqual({ item_id: item, stock: 10, in_flight: 0, sold: 0, per_user_limit: 2 });
    const all = await opsJson<{ item_id: string }[]>("stock");
    expect(all.map((i) => i.item_id)).toContain(item);
    const windowed = await ops("stock", item, "--set", "10", "--starts-at", "2030-01-01T10:00:00Z", "--ends-at", "2030-01-01T11:00:00Z");
    expect(windowed.out).toContain("sale 2030-01-01T10:00:00.000Z .. 2030-01-01T11:00:00.000Z");
    expect((await ops("stock", item, "--set", "10", "--starts-at", "soon")).code).toBe(1); // the API names the field
  });

  it("reports an unknown item, a bad token and a usage error with distinct exit codes, each in one line", async () => {
    const item = uid("nosuch");
    const unknown = await ops("stock", item);
    expect(unknown.code).toBe(1);
    // The API's message, or a sentence from its error code: never the raw answer.
    expect(unknown.err).toMatch(new RegExp(`^error: [^\n{}]*\\b${item}\\b[^\n{}]*$`));
    expect(unknown.err).not.toContain("HTTP 404");
    const wrong = await opsWith({ env: { ...env, ADMIN_TOKEN: "wrong" } }, "stock");
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/^error: the API refused the admin token \([^\n]*\): is ADMIN_TOKEN from this run of npm start\?$/);
    const invalid = await ops("stock", item, "--set", "10", "--starts-at", "soon");
    expect([invalid.code, invalid.err]).toEqual([1, expect.stringMatching(/^error: the API rejected the request: starts_at [^\n{}]+$/)]);
    expect((await ops("fly")).code).toBe(2);
  });

  it("words an error answer from its message, else from its error code", () => {
    expect(explainHttpError(404, { error: "unknown_item", item_id: "nosuch" })).toBe("no item nosuch");
    expect(explainHttpError(409, { error: "conflict", message: "sale window ends before it starts", correlation_id: "c" })).toBe("sale window ends before it starts");
    expect(explainHttpError(400, { error: "validation_failed", errors: [{ field: "stock", message: "must be >= 0" }, { field: "body", message: "has an unknown field totl" }] }))
      .toBe("the API rejected the request: stock must be >= 0; body has an unknown field totl");
    expect(explainHttpError(503, { error: "unavailable", dependency: "redis", correlation_id: "c-1" })).toBe("the engine cannot reach redis right now (HTTP 503); try again (correlation id c-1)");
    expect(explainHttpError(429, { error: "rate_limited" })).toBe("rate limited (HTTP 429)");
    expect(explainHttpError(502, "<html>\nBad Gateway</html>")).toBe("HTTP 502: <html>");
  });
});

describe("ops usage errors", () => {
  const seeHelp = "; see npm run ops -- --help";

  it("says what is wrong in one line and points at --help (exit 2)", async () => {
    expect(await ops("fly")).toEqual({ code: 2, out: "", err: `error: unknown command "fly"${seeHelp}` });
    expect(await ops("stock", "--fro")).toEqual({ code: 2, out: "", err: `error: unknown option --fro${seeHelp}` });
    expect(await ops("dlq", "--max")).toEqual({ code: 2, out: "", err: `error: --max needs a value${seeHelp}` });
    expect(await ops("order")).toEqual({ code: 2, out: "", err: `error: order needs a request_id${seeHelp}` });
    expect(await ops("dlq", "empty")).toMatchObject({ code: 2, err: expect.stringMatching(/^error: unknown dlq command "empty" [^\n]*$/) });
  });

  it("takes a negative number as the option's value and refuses it as such", async () => {
    for (const argv of [["--set", "-5"], ["--set=-5"]]) {
      expect(await ops("stock", "x", ...argv)).toEqual({ code: 2, out: "", err: `error: --set must be an integer >= 0${seeHelp}` });
    }
    expect((await ops("stock", "x", "--set", "5", "--limit", "-2")).err).toBe(`error: --limit must be an integer >= 1${seeHelp}`);
    expect((await ops("dlq", "--max", "-1")).err).toBe(`error: --max must be an integer >= 1${seeHelp}`);
    expect((await ops("reconcile", "x", "--total", "-3")).err).toBe(`error: --total must be an integer >= 0${seeHelp}`);
  });

  it("prints the usage for --help (exit 0) and for no command (exit 2)", async () => {
    const help = await ops("--help");
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: npm run ops -- <command>/);
    expect(help.out).toContain("dlq purge [--yes]");
    const none = await ops();
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/^usage: /);
  });
});

describe("ops when the engine is not there", () => {
  it("names the URL it tried and the likely cause, without a stack trace (exit 1)", async () => {
    const port = await freePort(); // nothing listens on it
    const down = `http://127.0.0.1:${port}`;
    const r = await opsWith({ env: { ...env, API_URL: down } }, "stock");
    expect(r).toEqual({
      code: 1,
      out: "",
      err: `error: could not reach ${down}/admin/items (connection refused): is \`npm start\` running? are the exported variables from this run?`,
    });
    const queues = await opsWith({ env: { ...env, AWS_ENDPOINT_URL_SQS: down } }, "dlq");
    expect(queues.code).toBe(1);
    expect(queues.err).toBe(`error: could not reach the queues at ${down} (connection refused): is \`npm start\` running? are the exported variables from this run?`);
    for (const e of [r.err, queues.err]) expect(e).not.toMatch(/TypeError|fetch failed|\n\s+at /);
  });

  it("asks for the admin token rather than signing a call to the local profile", async () => {
    const r = await opsWith({ env: { API_URL: engine.url } }, "stock");
    expect(r.code).toBe(2);
    expect(r.err).toBe(`error: no admin token for ${engine.url}: set ADMIN_TOKEN (npm start prints it) or pass --token; see npm run ops -- --help`);
  });
});

describe("ops finds the running local profile", () => {
  /** A directory with .sst/local-profile.json, as npm start writes it there. */
  function profileDir(profile: LocalProfile): { cwd: string; file: string } {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "ops-profile-"));
    const file = path.join(cwd, ".sst", "local-profile.json");
    writeProfile(file, profile);
    return { cwd, file };
  }
  // What npm start writes: the exports above, with its pid and the stand-ins' credentials.
  const thisEngine = (pid: number): LocalProfile =>
    ({ pid, started_at: new Date().toISOString(), ...env, AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" }) as LocalProfile;

  it("uses its connection file when no target is given, and lets the environment and flags win over it", async () => {
    const { cwd, file } = profileDir(thisEngine(process.pid)); // this process is alive, as npm start would be
    try {
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("600");
      const item = uid("found");
      const loaded = await opsWith({ env: {}, cwd }, "stock", item, "--set", "4");
      expect([loaded.code, loaded.err]).toEqual([0, ""]);
      expect(loaded.out).toContain(`loaded: ${item}`);
      // The queues and the stand-ins' credentials come from the file too.
      expect(await opsWith({ env: {}, cwd }, "dlq")).toEqual({ code: 0, out: "the DLQ is empty", err: "" });
      // Explicit settings win: API_URL (with its token) or --url, and then the file is not read at all.
      const dead = `http://127.0.0.1:${await freePort()}`;
      expect((await opsWith({ env: { API_URL: dead, ADMIN_TOKEN: "t" }, cwd }, "stock")).err).toContain(`could not reach ${dead}/admin/items`);
      expect((await opsWith({ env: {}, cwd }, "stock", "--url", dead, "--token", "t")).err).toContain(`could not reach ${dead}/admin/items`);
      expect((await opsWith({ env: { ADMIN_TOKEN: "wrong" }, cwd }, "stock")).err).toContain("refused the admin token");
      // LOCAL_PROFILE_FILE names another place for it.
      expect((await opsWith({ env: { LOCAL_PROFILE_FILE: file } }, "stock", item)).out).toMatch(new RegExp(`^${item}\\s+stock\\s+4`));
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("ignores a stale file, whose npm start is gone, with a one-line note", async () => {
    const gone = spawnSync(process.execPath, ["-e", "process.pid"]).pid!; // a process that has exited
    const { cwd, file } = profileDir(thisEngine(gone));
    try {
      const r = await opsWith({ env: {}, cwd }, "stock");
      expect(r.code).toBe(2);
      expect(r.err.split("\n")).toEqual([
        `note: ignoring ${file}: the npm start that wrote it (pid ${gone}) is not running any more`,
        "error: no API URL: start the local profile (npm start; the CLI finds it), pass --url, set API_URL, or pass --stage <stage>; see npm run ops -- --help",
      ]);
      // With a target given, the file is not looked at.
      expect(await opsWith({ env, cwd }, "dlq")).toEqual({ code: 0, out: "the DLQ is empty", err: "" });
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe("ops order and report", () => {
  it("looks up an order", async () => {
    const item = uid("sku");
    await ops("stock", item, "--set", "5");
    const { request_id } = await buy(item, "alice");
    await waitFor(async () => (await orderStatus(request_id)) === "COMPLETED");
    const shown = await ops("order", request_id);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`${request_id}: COMPLETED`);
    expect(shown.out).toContain(`item ${item}  user alice  amount 1`);
    expect((await ops("order", uid("never"))).code).toBe(1);
  });

  it("writes a sale report (JSON and SVG) with outcomes, rejections by reason and timings", async () => {
    const item = uid("sale");
    await ops("stock", item, "--set", "5", "--limit", "2");
    const accepted = [await buy(item, "u1"), await buy(item, "u1"), await buy(item, "decliner"), await buy(item, "u2"), await buy(item, "u3")];
    expect(accepted.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect((await buy(item, "u1")).status).toBe(409); // purchase limit
    expect((await buy(item, "u2", accepted[3]!.request_id)).status).toBe(409); // duplicate
    await drained(); // the declined payment gives its unit back
    await waitFor(async () => (await opsJson<{ stock: number }>("stock", item)).stock === 1);
    expect((await buy(item, "u4")).status).toBe(202);
    for (let i = 0; i < 3; i++) expect((await buy(item, `late${i}`)).status).toBe(410); // sold out: the door, then the near-cache
    await new Promise((r) => setTimeout(r, 300)); // past the near-cache's 250 ms: the next 410 comes from the door again,
    expect((await buy(item, "late3")).status).toBe(410); // which also counts the refusals the near-cache answered
    // The rate limit is per buyer and item: 4 per minute here.
    const hammered = uid("hammered");
    await ops("stock", hammered, "--set", "10", "--limit", "10");
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await buy(hammered, "hammer")).status);
    expect(statuses).toEqual([202, 202, 202, 202, 429]);
    await drained();

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sale-report-"));
    const r = await ops("report", "--out", dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain("wrote");
    expect(r.out).toContain("DLQ: empty");
    const report = JSON.parse(fs.readFileSync(path.join(dir, "sale-report.json"), "utf8"));
    expect(report.dlq).toEqual({ depth: 0 });
    const mine = report.items.find((i: { item_id: string }) => i.item_id === item);
    expect(mine.units_sold).toBe(5);
    expect(mine.orders).toMatchObject({ COMPLETED: 5, FAILED_PAYMENT: 1, FAILED_SOLD_OUT: 0 });
    expect(mine.rejected).toMatchObject({ purchase_limit_exceeded: 1, duplicate_request: 1 });
    expect(mine.rejected.sold_out).toBe(4);
    expect(report.items.find((i: { item_id: string }) => i.item_id === hammered).rejected).toEqual({ rate_limited: 1 });
    expect(mine.levels).toMatchObject({ stock: 0, in_flight: 0, sold: 5 });
    expect(mine.timings.sold_out_at).toBeDefined();
    expect(mine.timings.settle_ms.p99).toBeGreaterThanOrEqual(mine.timings.settle_ms.p50);
    expect(mine.timeline.reduce((n: number, b: { completed: number }) => n + b.completed, 0)).toBe(5);
    expect(report.totals.units_sold).toBeGreaterThanOrEqual(5);

    const svg = fs.readFileSync(path.join(dir, "sale-report.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("Flash sale report");
    expect(svg).toContain(item);
    expect(svg).toContain("rejected: sold out");
    // That it renders, and without overlapping text, is test/unit/sale-report-chart.test.ts's job.
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("ops reconcile", () => {
  it("finds injected drift, repairs it through reconcile.lua, and then finds none", async () => {
    const item = uid("drift");
    await ops("stock", item, "--set", "6", "--limit", "3");
    const a = await buy(item, "ann");
    const b = await buy(item, "bob", uid("r"), 2);
    await drained();
    await waitFor(async () => (await orderStatus(b.request_id)) === "COMPLETED");
    expect((await ops("reconcile", item)).code).toBe(0);

    // Drift: stock counted up, a user's count lost, a ledger entry gone.
    const { item: itemKey, users: usersKey, ledger: ledgerKey } = itemKeys(item);
    await redis.hincrby(itemKey, "stock", 3);
    await redis.hdel(usersKey, "ann");
    await redis.hdel(ledgerKey, a.request_id);

    const found = await ops("reconcile", item);
    expect(found.code).toBe(3);
    expect(found.out).toContain(`${item}: drift`);
    expect(found.out).toMatch(/stock\s+redis\s+6\s+orders say\s+3/);
    expect(found.out).toContain("user ann: redis 0, orders say 1");
    expect(found.out).toContain("ledger: 1 entries missing");

    const fixed = await ops("reconcile", item, "--repair");
    expect(fixed.code).toBe(0);
    expect(fixed.out).toContain(`${item}: repaired`);
    expect(await opsJson("stock", item)).toMatchObject({ stock: 3, in_flight: 0, sold: 3, per_user_limit: 3 });
    expect(await redis.hget(usersKey, "ann")).toBe("1");
    expect(parseLedgerEntry((await redis.hget(ledgerKey, a.request_id))!).outcome).toBe("COMPLETED");
    const again = await opsJson<{ status: string }[]>("reconcile", item);
    expect(again[0]!.status).toBe("in_sync");
  });

  it("leaves open holds in flight: a live order is not drift", async () => {
    const item = uid("live");
    await ops("stock", item, "--set", "4");
    // An admission whose message is not processed yet: made by the inventory itself, as the buy path does.
    const { RedisInventory } = await import("@flash/core/adapters/redis/inventory");
    await new RedisInventory(redis).admit({ item_id: item, user_id: "carol", amount: 1, request_id: uid("held") }, uid("attempt"));
    const [r] = await opsJson<{ status: string; expected: { in_flight: number; stock: number } }[]>("reconcile", item);
    expect(r).toMatchObject({ status: "in_sync", expected: { in_flight: 1, stock: 3 } });
  });
});

describe("admin routes behind the CLI", () => {
  const post = (route: string, body: unknown, token = engine.adminToken) =>
    fetch(`${engine.url}${route}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });

  it("validate the reconcile request and refuse callers without the admin token", async () => {
    const item = uid("sku");
    await ops("stock", item, "--set", "1");
    const bad = await post(`/admin/items/${item}/reconcile`, { repair: "yes", totl: 3 });
    expect(bad.status).toBe(400);
    const fields = ((await bad.json()) as { errors: { field: string }[] }).errors.map((e) => e.field).sort();
    expect(fields).toEqual(["body", "repair"]);
    expect((await post(`/admin/items/${item}/reconcile`, {}, "nope")).status).toBe(401);
    expect((await fetch(`${engine.url}/admin/items/${item}/report`)).status).toBe(401);
    expect((await post(`/admin/items/${uid("gone")}/reconcile`, {})).status).toBe(400); // no counters, no total given
  });
});

describe("ops dlq purge", () => {
  const deadLetter = (request_id: string, reason: string) =>
    sqs.send(new SendMessageCommand({
      QueueUrl: engine.resources.dlqUrl,
      MessageBody: JSON.stringify({ item_id: "sku-dead", user_id: "zoe", amount: 1, request_id, accepted_at: new Date().toISOString() }),
      MessageAttributes: { failure_reason: { DataType: "String", StringValue: reason } },
    }));
  const listed = async () => (await opsJson<{ request_id: string }[]>("dlq")).map((d) => d.request_id);

  it("deletes exactly one message, the oldest, after a yes; none after a no; and report shows the depth", async () => {
    const [older, newer] = [uid("dead-old"), uid("dead-new")];
    await deadLetter(older, "poisoned on purpose");
    await new Promise((r) => setTimeout(r, 20));
    await deadLetter(newer, "poisoned as well");
    expect((await listed()).sort()).toEqual([older, newer].sort());

    // report: the depth, printed and written.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sale-report-"));
    const report = await ops("report", "--out", dir);
    expect(report.out).toContain("DLQ: 2 message(s) waiting (npm run ops -- dlq lists them)");
    expect(JSON.parse(fs.readFileSync(path.join(dir, "sale-report.json"), "utf8")).dlq).toEqual({ depth: 2 });
    fs.rmSync(dir, { recursive: true, force: true });
    const unknown = await opsWith({ env: { ...env, DLQ_URL: undefined } }, "report", "--out", fs.mkdtempSync(path.join(os.tmpdir(), "sale-report-")));
    expect(unknown.out).toContain("DLQ: depth unknown: no DLQ URL");

    // No: shown first, with its reason; nothing deleted.
    const no = await opsWith({ input: Readable.from(["n\n"]) }, "dlq", "purge");
    expect(no.code).toBe(1);
    expect(no.err).toContain(`oldest of 2 message(s) in the DLQ:\n${older}  item sku-dead`);
    expect(no.err).toContain("reason: poisoned on purpose");
    expect(no.err).toContain("delete this message from the DLQ for good? [y/N] ");
    expect(no.out).toBe("nothing deleted");
    expect((await listed()).sort()).toEqual([older, newer].sort());
    expect(await depth(engine.resources.dlqUrl)).toBe(2);
    // No answer at all (stdin closed) is a no.
    expect((await opsWith({ input: Readable.from([]) }, "dlq", "purge")).out).toBe("nothing deleted (no answer; --yes deletes without asking)");

    // Yes (typed, or --yes): exactly one goes, the oldest.
    const yes = await opsWith({}, "dlq", "purge", "--yes");
    expect(yes.code).toBe(0);
    expect(yes.out).toContain(`deleted 1 message from the DLQ (1 left):\n${older}`);
    expect(await listed()).toEqual([newer]);
    expect(await depth(engine.resources.dlqUrl)).toBe(1);
    const typed = await opsWith({ input: Readable.from(["y\n"]) }, "dlq", "purge", "--json");
    expect(JSON.parse(typed.out)).toMatchObject({ deleted: { request_id: newer, failure_reason: "poisoned as well" }, left: 0 });
    expect(await opsWith({}, "dlq", "purge", "--yes")).toEqual({ code: 0, out: "the DLQ is empty: nothing to delete", err: "" });
  });

  it("reads the answer from stdin when run from a shell", async () => {
    const request = uid("dead-shell");
    await deadLetter(request, "poisoned for the shell");
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/ops.ts", "dlq", "purge"], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.stdin.end("n\n");
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(`${request}  item sku-dead`);
    expect(stderr).toContain("[y/N] n\n");
    expect(stdout.trim()).toBe("nothing deleted");
    expect(await listed()).toEqual([request]);
    expect((await ops("dlq", "purge", "--yes")).code).toBe(0);
    expect(await listed()).toEqual([]);
  });
});

describe("cache loss, DLQ and redrive", () => {
  it("dead-letters orders of a lost item, rebuilds its counters from the orders, and settles each redriven order exactly once", async () => {
    const item = uid("lost");
    await ops("stock", item, "--set", "3", "--limit", "2");
    const first = await buy(item, "dora");
    await waitFor(async () => (await orderStatus(first.request_id)) === "COMPLETED");

    // The cache loses the item while an accepted order is still on its way to the processor.
    await redis.del(...Object.values(itemKeys(item)));
    await redis.srem(ITEMS_KEY, item);
    const pending = { item_id: item, user_id: "eve", amount: 1, request_id: uid("r"), accepted_at: new Date().toISOString() };
    const correlation = uid("corr");
    await sqs.send(new SendMessageCommand({
      QueueUrl: engine.resources.queueUrl,
      MessageBody: JSON.stringify(pending),
      MessageAttributes: { correlation_id: { DataType: "String", StringValue: correlation } },
    }));

    // Every attempt fails (no inventory for the item): after maxReceiveCount receives the queue dead-letters it.
    await waitFor(async () => (await depth(engine.resources.dlqUrl)) === 1, 15_000);
    const listed = await opsJson<{ request_id: string; correlation_id: string; failure_reason: string }[]>("dlq");
    expect(listed).toEqual([expect.objectContaining({ request_id: pending.request_id, correlation_id: correlation, failure_reason: "exceeded maxReceiveCount" })]);
    // Listing consumed nothing.
    expect(await depth(engine.resources.dlqUrl)).toBe(1);
    expect((await ops("dlq")).out).toContain(`reason: exceeded maxReceiveCount`);

    // Without a record of the units on sale, reconcile cannot rebuild; with it, the orders give the rest.
    const refused = await ops("reconcile", item, "--repair");
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("pass the units on sale");
    const rebuilt = await ops("reconcile", item, "--repair", "--total", "3", "--limit", "2");
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.out).toMatch(/stock\s+redis\s+missing\s+orders say\s+2/);
    expect(await opsJson("stock", item)).toEqual({ item_id: item, stock: 2, in_flight: 0, sold: 1, per_user_limit: 2 });
    expect(await redis.hget(itemKeys(item).users, "dora")).toBe("1");
    expect(parseLedgerEntry((await redis.hget(itemKeys(item).ledger, first.request_id))!).outcome).toBe("COMPLETED");
    expect((await opsJson<{ item_id: string }[]>("stock")).map((i) => i.item_id)).toContain(item); // registered again

    const moved = await ops("redrive");
    expect(moved.code).toBe(0);
    expect(moved.out).toContain("redrove 1 message(s)");
    await waitFor(async () => (await orderStatus(pending.request_id)) === "COMPLETED", 10_000);
    await drained();
    const settled = await getOrder(pending.request_id);
    expect(await opsJson("stock", item)).toMatchObject({ stock: 1, in_flight: 0, sold: 2 });

    // The same message again (a second redrive, a duplicate delivery): nothing changes.
    for (const body of [pending, { item_id: item, user_id: "dora", amount: 1, request_id: first.request_id, accepted_at: settled.created_at }]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: engine.resources.queueUrl, MessageBody: JSON.stringify(body) }));
    }
    const batches = engine.poller.batches;
    await waitFor(async () => engine.poller.batches > batches && (await depth(engine.resources.queueUrl)) === 0, 10_000);
    expect(await opsJson("stock", item)).toMatchObject({ stock: 1, in_flight: 0, sold: 2 });
    expect(await getOrder(pending.request_id)).toEqual(settled);
    expect(await redis.hlen(itemKeys(item).ledger)).toBe(2);
    expect((await ops("reconcile", item)).code).toBe(0);
    expect((await ops("dlq")).out).toBe("the DLQ is empty");
  });
});

describe("ops target", () => {
  it("signs admin calls with SigV4 for execute-api when there is no token", async () => {
    const url = new URL("https://abc123.execute-api.us-east-1.amazonaws.com/admin/items/sku-1");
    const creds = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
    const date = new Date("2026-01-02T03:04:05Z");
    const headers = await signRequest(url, "PUT", '{"stock":1}', "us-east-1", creds, date);
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20260102\/us-east-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers["x-amz-date"]).toBe("20260102T030405Z");
    // Deterministic, and bound to the body.
    expect((await signRequest(url, "PUT", '{"stock":1}', "us-east-1", creds, date)).authorization).toBe(headers.authorization);
    expect((await signRequest(url, "PUT", '{"stock":2}', "us-east-1", creds, date)).authorization).not.toBe(headers.authorization);
  });

  it("takes a deployed stage's URLs from .sst/outputs.json, and then never a local token", () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "ops-stage-"));
    fs.mkdirSync(path.join(cwd, ".sst"));
    fs.writeFileSync(path.join(cwd, ".sst", "outputs.json"), JSON.stringify({
      "staging-flash-sale-Api": { ApiUrl: "https://api.example.com/" },
      "staging-flash-sale-Orders": { QueueUrl: "https://sqs/q", DlqUrl: "https://sqs/dlq", OrdersTable: "t" },
      "production-flash-sale-Api": { ApiUrl: "https://prod.example.com" },
    }));
    const t = resolveTarget({ stage: "staging" }, { ADMIN_TOKEN: "local-one", AWS_REGION: "eu-west-1" }, cwd);
    expect(t).toMatchObject({ url: "https://api.example.com", queueUrl: "https://sqs/q", dlqUrl: "https://sqs/dlq", region: "eu-west-1" });
    expect(t.adminToken).toBeUndefined();
    expect(() => resolveTarget({ stage: "nope" }, {}, cwd)).toThrow(/no stacks of that stage/);
    fs.rmSync(cwd, { recursive: true, force: true });
  });
});
