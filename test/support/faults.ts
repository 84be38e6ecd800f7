/**
 * Fault-injection harness: real processes, no mocks. A scenario starts a rig (its own redis-server, fauxqs and
 * dynalite behind TCP fault proxies, and a local engine), runs a crowd of buyers through plain fetch, injects a
 * fault, then calls `verify`, which waits for quiescence and checks the engine's promise: never oversell, never
 * take stock twice for one request, lose no accepted order, and a 503 leaves nothing behind.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient, ScanCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { Redis } from "ioredis";
import { sqsClient } from "@flash/core/adapters/sqs/queue";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { QueuePoller } from "@flash/local/queue-poller";
import { freePort } from "@flash/local/redis-server";
import { startStandIns, type AwsResources } from "@flash/local/stand-ins";
import { handler as processor } from "@flash/functions/queue/processor";
import { runOps } from "../../scripts/ops/cli";
import { waitFor } from "./fixtures";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Every temporary directory of this harness carries this prefix. */
const TMP_PREFIX = "flash-faults-";
const REGION = "us-east-1";
/** How long a buyer waits for an answer before giving up. */
export const CLIENT_TIMEOUT_MS = 35_000;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------------
// Processes this harness starts: all killed at the end, even when a test fails or the worker exits.

const children = new Set<ChildProcess>();
const spawnedPids = new Set<number>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  if (child.pid) spawnedPids.add(child.pid);
  child.once("exit", () => children.delete(child));
  return child;
}

process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

async function killAndWait(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL", timeoutMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  if ((await Promise.race([exited.then(() => true), sleep(timeoutMs).then(() => false)])) === false) {
    child.kill("SIGKILL");
    await exited;
  }
}

/** Throws if a redis-server or engine process started by this harness is still running, as `ps` sees it. */
export function assertNoOrphans(): void {
  if (!spawnedPids.size) return;
  const ps = spawnSync("ps", ["-o", "pid=,stat=,args=", "-p", [...spawnedPids].join(",")], { encoding: "utf8" }).stdout ?? "";
  const running = ps.split("\n").map((l) => l.trim()).filter((l) => l && !/^\d+\s+Z/.test(l)); // zombies are gone already
  if (running.length) throw new Error(`processes started by the fault harness are still running:\n${running.join("\n")}`);
}

// ---------------------------------------------------------------------------------------------------------------
// A redis-server the test controls: freeze, kill, restart empty or from a snapshot, always on the same port.

export class ControlledRedis {
  private child: ChildProcess | undefined;
  private snapshots = 0;

  private constructor(readonly port: number, private readonly dir: string) {}

  static async start(): Promise<ControlledRedis> {
    const redis = new ControlledRedis(await freePort(), mkdtempSync(join(tmpdir(), `${TMP_PREFIX}redis-`)));
    await redis.launch();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing. */
  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }

  async kill9(): Promise<void> {
    if (this.child) await killAndWait(this.child);
  }

  async restartEmpty(): Promise<void> {
    await this.kill9();
    rmSync(join(this.dir, "dump.rdb"), { force: true });
    await this.launch();
  }

  /** SAVE, then keep a copy of the RDB file: what a lagging replica would hold. */
  async snapshot(): Promise<string> {
    const reply = await redisCommand(this.port, ["SAVE"]);
    if (reply !== "+OK") throw new Error(`SAVE answered ${reply}`);
    const path = join(this.dir, `snapshot-${++this.snapshots}.rdb`);
    copyFileSync(join(this.dir, "dump.rdb"), path);
    return path;
  }

  /** Kill, then start from the snapshot's data on the same port (like a failover to a lagging replica). */
  async restartFrom(snapshot: string): Promise<void> {
    await this.kill9();
    copyFileSync(snapshot, join(this.dir, "dump.rdb"));
    await this.launch();
  }

  /** Diagnostics only: the request ids holding units of an item, read straight from Redis. */
  async holds(itemId: string): Promise<string[]> {
    const client = new Redis({ host: "127.0.0.1", port: this.port, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, commandTimeout: 1000 });
    client.on("error", () => undefined);
    try {
      await client.connect();
      return Object.keys(await client.hgetall(`item:{${itemId}}:holds`));
    } catch {
      return [];
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    // --save "": no automatic snapshots (SAVE still works); an RDB in --dir is loaded at start.
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir, "--dbfilename", "dump.rdb"];
    const child = track(spawn("redis-server", args, { stdio: "ignore" }));
    this.child = child;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} on port ${this.port}`);
        return (await redisCommand(this.port, ["PING"], 500).catch(() => "")) === "+PONG";
      },
      10_000,
      25,
    );
  }
}

/** One command over RESP, for single-line replies (+OK, +PONG, -ERR ...). */
function redisCommand(port: number, args: string[], timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let reply = "";
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`redis ${args[0]} timed out`))), timeoutMs);
    socket.once("connect", () => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`));
    socket.on("data", (chunk) => {
      reply += chunk;
      if (reply.includes("\r\n")) {
        clearTimeout(timer);
        socket.destroy();
        resolve(reply.slice(0, reply.indexOf("\r\n")));
      }
    });
    socket.once("error", (err) => (clearTimeout(timer), reject(err)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// A TCP proxy in front of a stand-in, whose behaviour the test switches.

export type ProxyMode =
  | { kind: "up" }
  | { kind: "closed" }
  | { kind: "silent" }
  | { kind: "delay"; ms: number }
  | { kind: "stallOn"; pattern: string; ms: number };

export class FaultProxy {
  private server: net.Server | undefined;
  private mode: ProxyMode = { kind: "up" };
  private readonly forwarding = new Set<net.Socket>();
  private readonly swallowed = new Set<net.Socket>();
  /** Chunks forwarded towards the target: each is at least one network write by a client (a round trip's request). */
  chunksForwarded = 0;

  private constructor(private readonly target: URL, private port = 0) {}

  static async start(targetEndpoint: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(new URL(targetEndpoint));
    await proxy.listen();
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  up = () => this.set({ kind: "up" });
  /** Not listening (connection refused); open connections are reset. */
  closed = () => this.set({ kind: "closed" });
  /** Accepts connections and never answers. Open connections are reset first, or keep-alive would bypass it. */
  silent = () => this.set({ kind: "silent" });
  /** Data towards the stand-in arrives `ms` late (order kept); answers flow at once. */
  delay = (ms: number) => this.set({ kind: "delay", ms });
  /**
   * Once: the first chunk that contains `pattern`, and everything after it on that connection, arrives `ms` late.
   * Aimed at one command (say, the script call that names an item), where `delay` would hold up every command.
   */
  stallOn = (pattern: string, ms: number) => this.set({ kind: "stallOn", pattern, ms });

  /** host:port, for clients that take a URL of another scheme (redis://). */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async set(next: ProxyMode): Promise<void> {
    const previous = this.mode;
    this.mode = next;
    // Leaving silent resets what it swallowed, as a load balancer or NAT timing the connections out would.
    if (previous.kind === "silent" && next.kind !== "silent") destroyAll(this.swallowed);
    if (next.kind === "silent" || next.kind === "closed") destroyAll(this.forwarding);
    if (next.kind === "closed" && previous.kind !== "closed") await this.unlisten();
    if (next.kind !== "closed" && previous.kind === "closed") await this.listen();
  }

  async stop(): Promise<void> {
    await this.closed();
  }

  private async listen(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const server = net.createServer((socket) => this.accept(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(this.port, "127.0.0.1", () => (server.off("error", reject), resolve()));
        });
        this.server = server;
        this.port = (server.address() as net.AddressInfo).port;
        return;
      } catch (err) {
        if (attempt >= 40 || (err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
        await sleep(50);
      }
    }
  }

  private async unlisten(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    destroyAll(this.forwarding);
    destroyAll(this.swallowed);
    await Promise.race([closed, sleep(1_000)]);
  }

  private accept(client: net.Socket): void {
    client.on("error", () => undefined);
    if (this.mode.kind === "silent") {
      this.swallowed.add(client);
      client.once("close", () => this.swallowed.delete(client));
      client.resume(); // read and drop
      return;
    }
    const upstream = net.connect(Number(this.target.port), this.target.hostname);
    upstream.on("error", () => undefined);
    this.forwarding.add(client);
    // One chain per connection keeps the bytes in order, whatever the delay was when each chunk arrived.
    let chain = Promise.resolve();
    client.on("data", (chunk: Buffer) => {
      let due = Date.now() + (this.mode.kind === "delay" ? this.mode.ms : 0);
      if (this.mode.kind === "stallOn" && chunk.includes(this.mode.pattern)) {
        due = Date.now() + this.mode.ms;
        this.mode = { kind: "up" };
      }
      this.chunksForwarded++;
      chain = chain.then(async () => {
        if (due > Date.now()) await sleep(due - Date.now());
        if (!upstream.destroyed) upstream.write(chunk);
      });
    });
    client.on("end", () => (chain = chain.then(() => void upstream.end())));
    upstream.on("data", (chunk) => client.write(chunk));
    upstream.on("end", () => client.end());
    const teardown = () => {
      this.forwarding.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.once("close", teardown);
    upstream.once("close", teardown);
  }
}

function destroyAll(sockets: Set<net.Socket>): void {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
}

// ---------------------------------------------------------------------------------------------------------------
// The rig: stand-ins behind proxies, a controlled Redis, and the engine (in this process, or as `npm start`).

export interface EngineHandle {
  url: string;
  adminToken: string;
  /** Runs the sweeper now; absent for an engine in its own process. */
  sweep?: () => Promise<number>;
  /** Exit code (or signal) of an engine in its own process; undefined while it runs or when in-process. */
  exited?: () => string | undefined;
  /** Everything an engine in its own process printed, across restarts. */
  output?: () => string;
  /** Starts an engine in its own process again (same port, token and services), killing it first if it runs. */
  restart?: () => Promise<void>;
}

export interface RigOptions {
  env?: Record<string, string>;
  processorConcurrency?: number;
  /** The engine's sweeper timer; 0 (default) leaves sweeps to the test and to `verify`. */
  sweepIntervalMs?: number;
  /** Run the engine as `npm start` does, in its own process, so a crash shows as a dead process. */
  ownProcess?: boolean;
  /** Put a fault proxy between the engine and Redis too (rig.redisProxy). */
  redisProxy?: boolean;
}

export interface Rig {
  engine: EngineHandle;
  redis: ControlledRedis;
  sqsProxy: FaultProxy;
  dynamoProxy: FaultProxy;
  /** With RigOptions.redisProxy: what the engine's Redis connections go through. */
  redisProxy?: FaultProxy;
  resources: AwsResources;
  api: ReturnType<typeof apiFor>;
  /** Environment for the ops CLI, pointed straight at the stand-ins (the operator's path is not faulted). */
  opsEnv: NodeJS.ProcessEnv;
  sqs: SQSClient;
  stop(): Promise<void>;
}

const MAX_RECEIVE_COUNT = 3;
const liveRigs = new Set<Rig>();

export async function startRig(options: RigOptions = {}): Promise<Rig> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const redis = await ControlledRedis.start();
    cleanups.push(() => redis.stop());
    // A short visibility timeout: failed messages come back (and dead-letter) within seconds.
    const resources = await startStandIns({ visibilityTimeoutSeconds: 1, maxReceiveCount: MAX_RECEIVE_COUNT });
    cleanups.push(() => resources.stop());
    const sqsProxy = await FaultProxy.start(resources.sqsEndpoint!);
    const dynamoProxy = await FaultProxy.start(resources.dynamoEndpoint!);
    cleanups.push(() => sqsProxy.stop(), () => dynamoProxy.stop());
    const sqs = await sqsClient({ AWS_REGION: REGION, AWS_ENDPOINT_URL_SQS: resources.sqsEndpoint });
    cleanups.push(async () => sqs.destroy());
    const engineEnv = {
      QUEUE_URL: resources.queueUrl,
      DLQ_URL: resources.dlqUrl,
      ORDERS_TABLE: resources.table,
      AWS_ENDPOINT_URL_SQS: sqsProxy.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoProxy.endpoint,
      MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
      // The queue's circuit breaker opens on queue faults; it stays open 1 s here (30 s by default), so retries
      // at quiescence are not kept waiting.
      CIRCUIT_BREAKER_BASE_TIMEOUT: "1",
      ...options.env,
    };
    const redisProxy = options.redisProxy ? await FaultProxy.start(redis.url) : undefined;
    if (redisProxy) cleanups.push(() => redisProxy.stop());
    const engineRedisUrl = redisProxy ? `redis://${redisProxy.address}` : redis.url;
    const { engine, stopEngine } = options.ownProcess
      ? await startEngineProcess({ ...engineEnv, REDIS_URL: engineRedisUrl })
      : await startEngineHere(engineRedisUrl, engineEnv, options);
    // Proxies close first on the way out, so nothing the engine waits on can hang its shutdown.
    cleanups.push(async () => {
      await sqsProxy.closed();
      await dynamoProxy.closed();
      await Promise.race([stopEngine(), sleep(20_000)]);
    });
    const rig: Rig = {
      engine, redis, sqsProxy, dynamoProxy, redisProxy, resources, sqs,
      api: apiFor(engine),
      opsEnv: {
        API_URL: engine.url, ADMIN_TOKEN: engine.adminToken, QUEUE_URL: resources.queueUrl, DLQ_URL: resources.dlqUrl,
        AWS_ENDPOINT_URL_SQS: resources.sqsEndpoint, AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? "local", AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? "local",
      },
      async stop() {
        liveRigs.delete(rig);
        await stop();
      },
    };
    liveRigs.add(rig);
    return rig;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** For afterAll: whatever a failed test left running. */
export async function stopAllRigs(): Promise<void> {
  for (const rig of [...liveRigs]) await rig.stop();
}

async function startEngineHere(redisUrl: string, env: Record<string, string>, options: RigOptions) {
  const engine: LocalEngine = await startLocalEngine({
    port: 0,
    redisUrl,
    maxReceiveCount: MAX_RECEIVE_COUNT,
    processorConcurrency: options.processorConcurrency,
    sweepIntervalMs: options.sweepIntervalMs ?? 0,
    env,
  });
  return {
    engine: { url: engine.url, adminToken: engine.adminToken, sweep: () => engine.sweep() } satisfies EngineHandle,
    async stopEngine() {
      await engine.stop();
    },
  };
}

/** The engine as `npm start` runs it, in its own process; `restart` brings it back on the same port after a crash. */
async function startEngineProcess(env: Record<string, string>) {
  const port = await freePort();
  const adminToken = randomBytes(12).toString("hex");
  let child: ChildProcess;
  let output = "";
  const exited = () => (child.exitCode !== null ? `exit code ${child.exitCode}` : child.signalCode ? `signal ${child.signalCode}` : undefined);
  const launch = async () => {
    child = track(
      spawn(process.execPath, ["--import", "tsx", "scripts/local.ts"], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env, PORT: String(port), ADMIN_TOKEN: adminToken },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    const mine = child;
    let banner = "";
    const collect = (c: Buffer) => ((output += c), (banner += c));
    mine.stdout!.on("data", collect);
    mine.stderr!.on("data", collect);
    await waitFor(async () => banner.includes("listening on") || !!exited(), 30_000, 50).catch(() => undefined);
    if (!banner.includes("listening on")) {
      await killAndWait(mine);
      throw new Error(`engine process did not start:\n${banner.slice(-2000)}`);
    }
  };
  await launch();
  return {
    engine: {
      url: `http://127.0.0.1:${port}`, adminToken, exited, output: () => output,
      async restart() {
        await killAndWait(child);
        await launch();
      },
    } satisfies EngineHandle,
    stopEngine: () => killAndWait(child, "SIGINT", 10_000),
  };
}

/** Settles what is on the queue with the real processor handler, for a rig whose engine runs no processor. */
export function startExtraProcessor(rig: Rig): { stop(): Promise<void> } {
  const poller = new QueuePoller({ sqs: rig.sqs, queueUrl: rig.resources.queueUrl, handler: processor, concurrency: 2, waitTimeSeconds: 1 }).start();
  return { stop: () => poller.stop() };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP: the engine as a storefront and an operator see it.

export interface Levels {
  stock: number;
  in_flight: number;
  sold: number;
}

export interface Reply {
  status: number | "no answer" | "network error";
  body: any;
}

async function request(url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Reply> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? CLIENT_TIMEOUT_MS) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body };
  } catch (err) {
    const timedOut = (err as Error).name === "TimeoutError";
    return { status: timedOut ? "no answer" : "network error", body: String((err as Error).cause ?? err) };
  }
}

export function apiFor(engine: Pick<EngineHandle, "url" | "adminToken">) {
  const admin = { authorization: `Bearer ${engine.adminToken}`, "content-type": "application/json" };
  const strict = async (what: string, reply: Promise<Reply>, ok: number[]) => {
    const r = await reply;
    if (typeof r.status !== "number" || !ok.includes(r.status)) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };
  return {
    setStock: (item: string, stock: number, perUserLimit = 1) =>
      strict(`PUT /admin/items/${item}`, request(`${engine.url}/admin/items/${item}`, { method: "PUT", headers: admin, body: JSON.stringify({ stock, per_user_limit: perUserLimit }), timeoutMs: 10_000 }), [200]),
    async levels(item: string): Promise<Levels | undefined> {
      const r = await strict(`GET /admin/items/${item}`, request(`${engine.url}/admin/items/${item}`, { headers: admin, timeoutMs: 10_000 }), [200, 404]);
      return r.status === 200 ? (r.body as Levels) : undefined;
    },
    order: (requestId: string) => request(`${engine.url}/orders/${encodeURIComponent(requestId)}`, { timeoutMs: 10_000 }),
    health: () => request(`${engine.url}/health`, { timeoutMs: 5_000 }),
  };
}

/** One raw HTTP exchange over TCP, for requests fetch will not send. Resolves to the status, or why there is none. */
export function rawHttp(url: string, text: string, options: { timeoutMs?: number; hangUpAfterWrite?: boolean } = {}): Promise<number | string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    let reply = "";
    const done = (result: number | string) => (clearTimeout(timer), socket.destroy(), resolve(result));
    const timer = setTimeout(() => done("no answer"), options.timeoutMs ?? 5_000);
    socket.once("connect", () => {
      socket.write(text);
      if (options.hangUpAfterWrite) done("hung up");
    });
    socket.on("data", (chunk) => {
      reply += chunk;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(reply);
      if (status) done(Number(status[1]));
    });
    socket.once("error", (err) => done(`network error: ${err.message}`));
    socket.once("close", () => done("connection closed without an answer"));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The crowd: distinct buyers, every request and reply recorded.

export interface BuyOrder {
  user_id: string;
  item_id: string;
  amount: number;
  request_id: string;
}

export interface Attempt {
  order: BuyOrder;
  phase: string;
  status: Reply["status"];
  body: any;
  ms: number;
}

export function buyers(item: string, count: number, prefix: string): BuyOrder[] {
  return Array.from({ length: count }, (_, i) => ({ user_id: `${prefix}-${i}`, item_id: item, amount: 1, request_id: randomUUID() }));
}

/** `409 duplicate_request`, `503`, `no answer`: how answers are named in expectations and messages. */
export const answerOf = (a: Pick<Attempt, "status" | "body">) =>
  a.status === 409 && typeof a.body?.error === "string" ? `409 ${a.body.error}` : String(a.status);

export class BuyLog {
  readonly attempts: Attempt[] = [];

  constructor(private readonly url: string) {}

  async buy(order: BuyOrder, phase: string, timeoutMs = CLIENT_TIMEOUT_MS): Promise<Attempt> {
    const started = performance.now();
    const reply = await request(`${this.url}/buy`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(order), timeoutMs });
    const attempt: Attempt = { order, phase, status: reply.status, body: reply.body, ms: Math.round(performance.now() - started) };
    this.attempts.push(attempt);
    return attempt;
  }

  count(status: Attempt["status"], phase?: string): number {
    return this.attempts.filter((a) => a.status === status && (phase === undefined || a.phase === phase)).length;
  }

  inPhase(phase: string): Attempt[] {
    return this.attempts.filter((a) => a.phase === phase);
  }
}

export interface Crowd {
  done: Promise<void>;
  readonly finished: boolean;
}

/** Buyers in order, `concurrency` at a time; stops taking new buyers once `stopWhen` says so. */
export function runCrowd(log: BuyLog, orders: BuyOrder[], options: { phase: string; concurrency?: number; stopWhen?: () => boolean }): Crowd {
  let next = 0;
  const state = { finished: false };
  const worker = async () => {
    while (next < orders.length && !options.stopWhen?.()) await log.buy(orders[next++]!, options.phase);
  };
  const done = Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, orders.length) }, worker)).then(() => void (state.finished = true));
  return {
    done,
    get finished() {
      return state.finished;
    },
  };
}

/** Waits until `count` orders of the phase were accepted: the moment to inject the fault. */
export async function whenAccepted(log: BuyLog, crowd: Crowd, phase: string, count: number): Promise<void> {
  await waitFor(async () => {
    if (log.count(202, phase) >= count) return true;
    if (crowd.finished) throw new Error(`harness: the crowd of ${phase} ended with ${log.count(202, phase)} accepted, before the fault (wanted ${count})`);
    return false;
  }, 30_000, 5);
}

/** Runs items through `work`, `concurrency` at a time. */
export async function inBatches<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Observing the stand-ins directly (not through the proxies).

interface OrderRecord {
  request_id: string;
  item_id: string;
  user_id: string;
  amount: number;
  status: string;
}

const FINAL = new Set(["COMPLETED", "FAILED_SOLD_OUT", "FAILED_LIMIT", "FAILED_PAYMENT", "FAILED_EXPIRED"]);

export async function scanOrders(rig: Rig): Promise<Map<string, OrderRecord>> {
  const db = new DynamoDBClient({ region: REGION, endpoint: rig.resources.dynamoEndpoint });
  const records = new Map<string, OrderRecord>();
  try {
    let start: Record<string, AttributeValue> | undefined;
    for (let page = 0; page < 1000; page++) {
      const out = await db.send(new ScanCommand({ TableName: rig.resources.table, ConsistentRead: true, ExclusiveStartKey: start }));
      for (const item of out.Items ?? []) {
        const record = { request_id: item.request_id!.S!, item_id: item.item_id?.S ?? "", user_id: item.user_id?.S ?? "", amount: Number(item.amount?.N ?? 0), status: item.status?.S ?? "" };
        records.set(record.request_id, record);
      }
      start = out.LastEvaluatedKey;
      if (!start) break;
    }
  } finally {
    db.destroy();
  }
  return records;
}

async function depth(rig: Rig, queueUrl: string): Promise<number> {
  const out = await rig.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

export async function ops(rig: Rig, argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runOps(argv, { env: rig.opsEnv, out: (l) => lines.push(l), err: (l) => lines.push(l), cwd: REPO_ROOT });
  return { code, out: lines.join("\n") };
}

async function dlqRequestIds(rig: Rig): Promise<Set<string>> {
  const { code, out } = await ops(rig, ["dlq", "--json"]);
  if (code !== 0) throw new Error(`ops dlq failed (${code}): ${out}`);
  return new Set((JSON.parse(out) as { request_id?: string }[]).map((d) => d.request_id ?? "(unparseable)"));
}

export interface Quiet {
  quiet: boolean;
  queue: number;
  dlq: number;
  redrives: number;
  levels: Record<string, Levels | undefined>;
}

/**
 * Waits until nothing moves: runs the sweeper, redrives the DLQ (at most 3 times), and returns once the queue and
 * DLQ are empty and nothing is in flight, or once nothing has changed for `stableMs` (something stays stuck, and
 * the invariants will say what). Gives up after `timeoutMs`, returning quiet: false.
 */
export async function quiesce(rig: Rig, items: string[], options: { timeoutMs?: number; stableMs?: number } = {}): Promise<Quiet> {
  const deadline = Date.now() + (options.timeoutMs ?? 25_000);
  let redrives = 0;
  let last = "";
  let unchangedSince = Date.now();
  let state: Quiet = { quiet: false, queue: -1, dlq: -1, redrives, levels: {} };
  while (Date.now() < deadline) {
    await rig.engine.sweep?.().catch(() => 0);
    const [queue, dlq] = await Promise.all([depth(rig, rig.resources.queueUrl), depth(rig, rig.resources.dlqUrl)]);
    if (dlq > 0 && redrives < 3) {
      redrives++;
      const { code, out } = await ops(rig, ["redrive"]);
      if (code !== 0) throw new Error(`ops redrive failed (${code}): ${out}`);
      continue;
    }
    const levels: Record<string, Levels | undefined> = {};
    for (const item of items) levels[item] = await rig.api.levels(item).catch(() => undefined);
    state = { quiet: false, queue, dlq, redrives, levels };
    const nothingInFlight = items.every((i) => (levels[i]?.in_flight ?? 0) === 0);
    if (queue === 0 && dlq === 0 && nothingInFlight) return { ...state, quiet: true };
    const signature = JSON.stringify([queue, dlq, levels]);
    if (signature !== last) (last = signature), (unchangedSince = Date.now());
    if (queue === 0 && Date.now() - unchangedSince >= (options.stableMs ?? 3_000)) return { ...state, quiet: true };
    await sleep(100);
  }
  return state;
}

// ---------------------------------------------------------------------------------------------------------------
// The invariants.

export interface Verification {
  scenario: string;
  rig: Rig;
  log: BuyLog;
  /** Units put on sale, per item. */
  loaded: Record<string, number>;
  /** Answers acceptable to a buyer's first attempts under this fault (see answerOf). Default: 202, 410, 503. */
  expected?: string[];
  /** False when the scenario throws Redis data away for good: only the DynamoDB invariants apply. */
  checkCounters?: boolean;
  /** True when holds may be lost (cache loss, failover), so an accepted order may end FAILED_SOLD_OUT. */
  holdsMayBeLost?: boolean;
  /** Violations the scenario found itself. */
  violations?: string[];
  /** Extra words for the summary line. */
  notes?: string[];
  /** Runs once everything is quiet at the end; returns violations. */
  atTheEnd?: () => Promise<string[]>;
}

/** Answers after which the engine promises to have kept nothing (README: "leaves nothing behind"). */
const REJECTIONS = new Set<Attempt["status"]>([400, 404, 410, 413, 429, 503]);

const listIds = (ids: string[], detail?: (id: string) => string) =>
  `${ids.slice(0, 10).map((id) => (detail ? `${id} (${detail(id)})` : id)).join(", ")}${ids.length > 10 ? `, ... ${ids.length - 10} more` : ""}`;

export async function verify(v: Verification): Promise<void> {
  const { rig, log, loaded } = v;
  const items = Object.keys(loaded);
  const violations = [...(v.violations ?? [])];
  const problem = (what: string, ids: string[], detail?: (id: string) => string) => {
    if (ids.length) violations.push(`${what}: ${ids.length} request(s): ${listIds(ids, detail)}`);
  };
  const expected = new Set(v.expected ?? ["202", "410", "503"]);
  const checkCounters = v.checkCounters ?? true;

  const firstAttempts = [...log.attempts];
  const byRequest = new Map<string, Attempt[]>();
  for (const a of firstAttempts) byRequest.set(a.order.request_id, [...(byRequest.get(a.order.request_id) ?? []), a]);
  const orderOf = (rid: string) => byRequest.get(rid)![0]!.order;
  const acceptedIds = (attempts: Attempt[]) => [...new Set(attempts.filter((a) => a.status === 202).map((a) => a.order.request_id))];

  const unexpected = firstAttempts.filter((a) => !expected.has(answerOf(a)));
  const grouped = new Map<string, string[]>();
  for (const a of unexpected) grouped.set(answerOf(a), [...(grouped.get(answerOf(a)) ?? []), a.order.request_id]);
  for (const [answer, ids] of grouped) problem(`answered ${answer} (expected ${[...expected].join(" / ")})`, ids);

  /** Accepted orders must be final in the table; the rest are stuck in the DLQ or lost. */
  const checkAccepted = async (accepted: string[], table: Map<string, OrderRecord>, when: string) => {
    const open = accepted.filter((rid) => !FINAL.has(table.get(rid)?.status ?? ""));
    const inDlq = open.length ? await dlqRequestIds(rig) : new Set<string>();
    const stuck = open.filter((rid) => inDlq.has(rid));
    const lost = open.filter((rid) => !inDlq.has(rid));
    problem(`${when}: accepted (202) but still in the DLQ after redrives`, stuck);
    problem(`${when}: orders lost (202, no final status in DynamoDB, not in the DLQ)`, lost, (rid) => table.get(rid)?.status ?? "no record");
    // What the buyer sees must be that same final status.
    const disagree: string[] = [];
    await inBatches(accepted.filter((rid) => FINAL.has(table.get(rid)?.status ?? "")), 16, async (rid) => {
      const r = await rig.api.order(rid);
      if (r.status !== 200 || r.body?.status !== table.get(rid)!.status) disagree.push(`${rid} (GET /orders: ${r.status} ${r.body?.status ?? ""}, table: ${table.get(rid)!.status})`);
    });
    problem(`${when}: GET /orders/{id} disagrees with the order record`, disagree);
    if (!v.holdsMayBeLost) {
      const failed = accepted.filter((rid) => ["FAILED_SOLD_OUT", "FAILED_LIMIT"].includes(table.get(rid)?.status ?? ""));
      problem(`${when}: accepted (202) with units held for it, Redis kept its data, yet it ended FAILED_SOLD_OUT/FAILED_LIMIT`, failed, (rid) => table.get(rid)!.status);
    }
    return lost.length;
  };

  const checkStock = async (quiet: Quiet, table: Map<string, OrderRecord>, when: string) => {
    for (const item of items) {
      const completed = [...table.values()].filter((r) => r.item_id === item && r.status === "COMPLETED").reduce((n, r) => n + r.amount, 0);
      if (completed > loaded[item]!) violations.push(`${when}: OVERSOLD ${item}: ${completed} units COMPLETED in DynamoDB, ${loaded[item]} loaded`);
      if (!checkCounters) continue;
      const l = quiet.levels[item];
      if (!l) {
        violations.push(`${when}: ${item}: no levels from GET /admin/items`);
        continue;
      }
      if (l.stock + l.in_flight + l.sold !== loaded[item]) {
        violations.push(`${when}: ${item}: stock ${l.stock} + in_flight ${l.in_flight} + sold ${l.sold} = ${l.stock + l.in_flight + l.sold}, ${loaded[item]} loaded`);
      }
      if (l.in_flight !== 0) {
        const holders = await rig.redis.holds(item);
        violations.push(`${when}: ${item}: ${l.in_flight} unit(s) still in flight with the queue drained; held by (from Redis): ${listIds(holders) || "?"}`);
      }
      if (l.sold !== completed) violations.push(`${when}: ${item}: Redis says sold ${l.sold}, DynamoDB has ${completed} units COMPLETED`);
    }
  };

  // 1. Quiet, before any retry.
  const q1 = await quiesce(rig, items);
  if (!q1.quiet) violations.push(`before retries: never quiet: queue ${q1.queue}, DLQ ${q1.dlq} after ${q1.redrives} redrives`);
  const table1 = await scanOrders(rig);
  const accepted1 = acceptedIds(firstAttempts);
  await checkAccepted(accepted1, table1, "before retries");
  await checkStock(q1, table1, "before retries");

  // Every answer was a rejection: there must be no order, in the table or behind GET /orders.
  const rejectedOnly = [...byRequest.keys()].filter((rid) => byRequest.get(rid)!.every((a) => REJECTIONS.has(a.status)));
  const answers = (rid: string) => byRequest.get(rid)!.map((a) => `${a.status} in ${a.phase}`).join(", ");
  problem("rejected (4xx/503) yet an order record exists in DynamoDB", rejectedOnly.filter((rid) => table1.has(rid)), (rid) => `${table1.get(rid)!.status}; answered ${answers(rid)}`);
  const visible: string[] = [];
  await inBatches(rejectedOnly, 16, async (rid) => {
    const r = await rig.api.order(rid);
    if (r.status !== 404) visible.push(`${rid} (GET /orders: ${r.status} ${r.body?.status ?? ""})`);
  });
  problem("rejected (4xx/503) yet GET /orders/{id} is not 404", visible);

  // 2. Buyers retry, with the same request_id and body, once the queue's circuit breaker (opened by a queue fault)
  // has let go: a client told `Retry-After` waits that long. The rig keeps the open period at 1 s.
  await waitFor(async () => (await rig.api.health()).body?.circuit_breaker_state !== "open", 40_000);
  const wrongDuplicates: string[] = [];
  await inBatches(accepted1, 8, async (rid) => {
    const record = table1.get(rid);
    if (!record || !FINAL.has(record.status)) return; // already reported as lost or stuck
    const r = await log.buy(orderOf(rid), "retry of a 202");
    if (answerOf(r) !== "409 duplicate_request" || r.body?.status !== record.status) wrongDuplicates.push(`${rid} (${answerOf(r)}${r.body?.status ? ` ${r.body.status}` : ""}, order is ${record.status})`);
  });
  problem("retry of an accepted order did not get 409 duplicate_request with the order's status", wrongDuplicates);

  // Sequential, so that each answer can be held against the stock at that moment.
  const unanswered = [...byRequest.keys()].filter((rid) => {
    const attempts = byRequest.get(rid)!;
    return !attempts.some((a) => a.status === 202) && attempts.some((a) => a.status === 503 || a.status === 404 || typeof a.status !== "number" || a.status >= 500);
  });
  const untruthful: string[] = [];
  for (const rid of unanswered) {
    const order = orderOf(rid);
    const r = await log.buy(order, "retry after a failure");
    const answer = answerOf(r);
    if (answer === "202") continue;
    if (answer === "410") {
      const l = await rig.api.levels(order.item_id);
      if (l && l.stock >= order.amount) untruthful.push(`${rid} (410 sold_out with ${l.stock} in stock)`);
      continue;
    }
    if (answer === "409 duplicate_request") {
      const record = (await scanOrders(rig)).get(rid);
      if (r.body?.status === "PENDING") untruthful.push(`${rid} (409 duplicate_request PENDING at quiescence; order record: ${record?.status ?? "none"})`);
      else if (!record) untruthful.push(`${rid} (409 duplicate_request ${r.body?.status} but no order exists)`);
      else if (record.status !== r.body?.status) untruthful.push(`${rid} (409 duplicate_request ${r.body?.status}, order is ${record.status})`);
      continue;
    }
    untruthful.push(`${rid} (${answer})`);
  }
  problem("retry of a failed request (503, 404, no answer) at quiescence got an untruthful answer", untruthful);

  // 3. Quiet again; the retries' orders settle too, and nothing final changed.
  const q2 = await quiesce(rig, items);
  if (!q2.quiet) violations.push(`at the end: never quiet: queue ${q2.queue}, DLQ ${q2.dlq} after ${q2.redrives} redrives`);
  const table2 = await scanOrders(rig);
  const lost = await checkAccepted(acceptedIds(log.attempts), table2, "at the end");
  const changed = [...table1.values()].filter((r) => FINAL.has(r.status) && table2.get(r.request_id)?.status !== r.status);
  problem("final status changed", changed.map((r) => r.request_id), (rid) => `${table1.get(rid)!.status} -> ${table2.get(rid)?.status ?? "gone"}`);
  await checkStock(q2, table2, "at the end");
  if (v.atTheEnd) violations.push(...(await v.atTheEnd()));

  // 4. One line per scenario, in the run's output.
  const tally = (s: Attempt["status"]) => firstAttempts.filter((a) => a.status === s).length;
  const other = firstAttempts.length - tally(202) - tally(410) - tally(503);
  const completed = [...table2.values()].filter((r) => r.status === "COMPLETED").reduce((n, r) => n + r.amount, 0);
  const inFlight = items.map((i) => q2.levels[i]?.in_flight ?? "?").join("+");
  const total = Object.values(loaded).reduce((a, b) => a + b, 0);
  console.log(
    `[faults] ${v.scenario} | ${firstAttempts.length} requests: 202 ${tally(202)}, 410 ${tally(410)}, 503 ${tally(503)}, other ${other}` +
      ` | ${log.attempts.length - firstAttempts.length} retries | COMPLETED ${completed} of ${total} loaded | in_flight ${inFlight}` +
      ` | DLQ redrives ${q1.redrives + q2.redrives} | orders lost ${lost} | violations ${violations.length}${v.notes?.length ? ` | ${v.notes.join("; ")}` : ""}`,
  );
  if (violations.length) throw new Error(`${v.scenario}: ${violations.length} invariant violation(s):\n- ${violations.join("\n- ")}`);
}
