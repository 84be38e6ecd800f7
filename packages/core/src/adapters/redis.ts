import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { Redis, Cluster, ReplyError } from "ioredis";
import type { Config } from "../config";
import type { Order } from "../order";
import type {
  Admission, Authority, Hold, Inventory, InventoryAudit, ItemLevels, ItemState, LedgerEntry, OrderKey, OverdueHold, Probe, RateDecision,
  RateLimiter, Repair, RepairPlan, RequestRegistry, SaleStats, Settlement, Withdrawal,
} from "../ports";
import { DependencyUnavailableError, ScriptError } from "../errors";

export type RedisClient = Redis | Cluster;

/**
 * The Lua scripts in lua/, each loaded once and then run by SHA (ioredis defineCommand: EVALSHA, EVAL on NOSCRIPT).
 * Item scripts get the item's keys (itemKeys) and lua/lib.lua in front of them.
 */
const ITEM_SCRIPTS = ["admit", "settle", "withdraw", "overdue", "set_stock", "reconcile", "count_rejection"] as const;
type ScriptName = "rate_limit" | (typeof ITEM_SCRIPTS)[number];

/** lua/ ships beside the bundle on Lambda (copyFiles) and sits at the repo root in development. */
export function luaDir(): string {
  const candidates = [process.env.LUA_DIR, process.env.LAMBDA_TASK_ROOT && join(process.env.LAMBDA_TASK_ROOT, "lua")];
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 6; dir = dirname(dir), i++) candidates.push(join(dir, "lua"));
  const found = candidates.find((d) => d && existsSync(join(d, "admit.lua")));
  if (!found) throw new Error(`Lua scripts not found; looked in ${candidates.filter(Boolean).join(", ")}`);
  return found;
}

/**
 * One client per process. On ElastiCache Serverless (cluster mode, TLS only) this is a Redis.Cluster whose
 * dnsLookup passes the endpoint name through, so TLS certificate checks see the host name.
 */
export function connectRedis(config: Pick<Config, "REDIS_URL" | "REDIS_CLUSTER" | "REDIS_CONNECT_TIMEOUT_MS" | "REDIS_COMMAND_TIMEOUT_MS">): RedisClient {
  const url = new URL(config.REDIS_URL);
  const options = {
    connectTimeout: config.REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    // Fail fast: the caller answers 503 or returns the record for redelivery rather than waiting.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls: url.protocol === "rediss:" ? {} : undefined,
  };
  const host = url.hostname;
  const port = Number(url.port || 6379);
  const client =
    config.REDIS_CLUSTER === "true"
      ? new Cluster([{ host, port }], {
          dnsLookup: (address, callback) => callback(null, address),
          redisOptions: options,
          enableAutoPipelining: true,
          slotsRefreshTimeout: config.REDIS_CONNECT_TIMEOUT_MS,
          clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1000),
        })
      : new Redis({ host, port, db: Number(url.pathname.slice(1) || 0), enableAutoPipelining: true, ...options });
  client.on("error", () => undefined); // surfaced per command as DependencyUnavailableError
  const dir = luaDir();
  const lib = readFileSync(join(dir, "lib.lua"), "utf8");
  client.defineCommand("rate_limit", { numberOfKeys: 2, lua: readFileSync(join(dir, "rate_limit.lua"), "utf8") });
  for (const name of ITEM_SCRIPTS) {
    client.defineCommand(name, { numberOfKeys: ITEM_KEYS, lua: lib + readFileSync(join(dir, `${name}.lua`), "utf8") });
  }
  return client;
}

/** Errors Redis answers while it cannot serve (loading, failing over, busy): retry later. Any other reply error is a bug. */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS|MOVED|ASK)\b/;

function failure(err: unknown): Error {
  if (err instanceof ReplyError && !UNAVAILABLE_REPLY.test((err as Error).message)) return new ScriptError((err as Error).message, { cause: err });
  return new DependencyUnavailableError("redis", err);
}

async function run(client: RedisClient, script: ScriptName, keys: string[], args: (string | number)[]): Promise<string[]> {
  try {
    return await (client as unknown as Record<ScriptName, (...a: (string | number)[]) => Promise<string[]>>)[script](...keys, ...args);
  } catch (err) {
    throw failure(err);
  }
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw failure(err);
  }
}

/** One item's keys, in the order lua/lib.lua names them. They share the hash tag {item_id}, so each script stays in one cluster slot. */
export const itemKeys = (itemId: string) => {
  const tag = `item:{${itemId}}`;
  return {
    item: tag,
    users: `${tag}:users`,
    holds: `${tag}:holds`,
    heldAt: `${tag}:held_at`,
    ledger: `${tag}:ledger`,
    admitting: `${tag}:admitting`,
    rejections: `${tag}:rejections`,
  };
};
const ITEM_KEYS = 7;
const keyList = (itemId: string) => Object.values(itemKeys(itemId));

export const requestKey = (requestId: string) => `req:{${requestId}}`;
export const rateKey = (userId: string) => `user:{${userId}}:rate`;
/** The user's own record of an accepted request, read by rate_limit.lua at the door. */
export const userRequestKey = (userId: string, requestId: string) => `user:{${userId}}:req:${requestId}`;
/** The registry of items on sale: its own slot, so it is written beside set_stock.lua, not inside it. */
export const ITEMS_KEY = "items";

/** A hold as lua/lib.lua writes it: "user|amount|admitted_ms|owner". */
export function parseHold(requestId: string, value: string): Hold {
  const [user, amount, at] = value.split("|");
  return { request_id: requestId, user_id: user!, amount: Number(amount), admitted_ms: Number(at) };
}

/** A ledger entry as lua/lib.lua writes it: "OUTCOME|user|amount" (entries from before that carry the outcome alone). */
export function parseLedgerEntry(value: string): LedgerEntry {
  const [outcome, user, amount] = value.split("|");
  return { outcome: outcome as LedgerEntry["outcome"], ...(user ? { user_id: user, amount: Number(amount) } : {}) };
}

const iso = (ms: string) => new Date(Number(ms)).toISOString();

export class RedisInventory implements Inventory {
  /**
   * @param takeoverMs how long an admission may stay unqueued with the buy call that made it before a retry of
   * the same request may take it over (that call has died: it cannot outlive the function timeout).
   */
  constructor(private readonly redis: RedisClient, private readonly takeoverMs = 15_000) {}

  admit(order: Order.Request, owner: string): Promise<Admission> {
    return this.take("buy", order, owner);
  }

  reserve(order: Order.Request): Promise<Admission> {
    return this.take("reserve", order, "");
  }

  private async take(mode: "buy" | "reserve", order: Order.Request, owner: string): Promise<Admission> {
    const [code, a, b] = await run(this.redis, "admit", keyList(order.item_id), [mode, order.request_id, order.user_id, order.amount, owner, this.takeoverMs]);
    switch (code) {
      case "ADMITTED":
        return { kind: "admitted", stockLeft: Number(a), admittedAt: iso(b!) };
      case "TAKEN_OVER":
        return { kind: "taken_over", admittedAt: iso(a!) };
      case "HELD":
        return { kind: "held", admittedAt: iso(a!) };
      case "SETTLED":
        return { kind: "settled", outcome: a as Order.FinalStatus };
      case "WITHDRAWN":
        return { kind: "withdrawn" };
      case "REUSED":
        return { kind: "reused" };
      case "UNKNOWN_ITEM":
        return { kind: "unknown_item" };
      case "SOLD_OUT":
        return { kind: "sold_out", stockLeft: Number(a) };
      case "LIMIT":
        return { kind: "limit", held: Number(a), limit: Number(b) };
    }
    throw new ScriptError(`admit.lua returned ${code}`);
  }

  async markQueued(itemId: string, requestId: string): Promise<void> {
    await call(() => this.redis.zrem(itemKeys(itemId).admitting, requestId));
  }

  async withdraw(order: OrderKey, owner: string): Promise<Withdrawal> {
    const [code] = await run(this.redis, "withdraw", keyList(order.item_id), [order.request_id, owner, 0]);
    if (code === "WITHDRAWN") return { kind: "withdrawn" };
    return { kind: code === "QUEUED" ? "queued" : "nothing" };
  }

  async settle(order: OrderKey, outcome: Order.FinalStatus, authority: Authority): Promise<Settlement> {
    const [code, settled] = await run(this.redis, "settle", keyList(order.item_id), [order.request_id, outcome, order.user_id, order.amount, authority]);
    return code === "SETTLED" ? { kind: "settled", outcome: settled as Order.FinalStatus } : { kind: "no_hold" };
  }

  async setStock(itemId: string, stock: number, perUserLimit: number): Promise<ItemLevels> {
    const [s, f, sold, limit] = await run(this.redis, "set_stock", keyList(itemId), [stock, perUserLimit]);
    await call(() => this.redis.sadd(ITEMS_KEY, itemId));
    return { item_id: itemId, stock: Number(s), in_flight: Number(f), sold: Number(sold), per_user_limit: Number(limit) };
  }

  async levels(itemId: string): Promise<ItemLevels | undefined> {
    const [s, f, sold, limit] = await call(() => this.redis.hmget(itemKeys(itemId).item, "stock", "in_flight", "sold", "per_user_limit"));
    if (s === null) return undefined;
    return { item_id: itemId, stock: Number(s), in_flight: Number(f ?? 0), sold: Number(sold ?? 0), per_user_limit: Number(limit ?? 1) };
  }

  async items(): Promise<string[]> {
    return (await call(() => this.redis.smembers(ITEMS_KEY))).sort();
  }

  async overdue(itemId: string, options: { ttlMs: number; staleMs: number; limit: number }): Promise<OverdueHold[]> {
    const flat = await run(this.redis, "overdue", keyList(itemId), [options.ttlMs, options.staleMs, options.limit]);
    const holds: OverdueHold[] = [];
    for (let i = 0; i < flat.length; i += 3) holds.push({ ...parseHold(flat[i]!, flat[i + 2]!), kind: flat[i + 1] as OverdueHold["kind"] });
    return holds;
  }

  async abandon(itemId: string, requestId: string, staleMs: number): Promise<boolean> {
    const [code] = await run(this.redis, "withdraw", keyList(itemId), [requestId, "", staleMs]);
    return code === "WITHDRAWN";
  }

  async hold(itemId: string, requestId: string): Promise<(Hold & { queued: boolean }) | undefined> {
    const keys = itemKeys(itemId);
    const [value, admitting] = await call(() => Promise.all([this.redis.hget(keys.holds, requestId), this.redis.zscore(keys.admitting, requestId)]));
    return value ? { ...parseHold(requestId, value), queued: admitting === null } : undefined;
  }
}

export class RedisInventoryAudit implements InventoryAudit {
  constructor(private readonly redis: RedisClient) {}

  async snapshot(itemId: string): Promise<ItemState> {
    const keys = itemKeys(itemId);
    // One MULTI (all keys share the item's slot): counters, holds and ledger are read at one instant.
    const replies = await call(() => this.redis.multi().hgetall(keys.item).hgetall(keys.users).hgetall(keys.holds).hgetall(keys.ledger).exec());
    const [h, u, held, l] = (replies ?? []).map(([err, value]) => {
      if (err) throw failure(err);
      return value as Record<string, string>;
    });
    const levels: ItemLevels | undefined =
      h!.stock === undefined
        ? undefined
        : { item_id: itemId, stock: Number(h!.stock), in_flight: Number(h!.in_flight ?? 0), sold: Number(h!.sold ?? 0), per_user_limit: Number(h!.per_user_limit ?? 1) };
    return {
      levels,
      ...(h!.total !== undefined ? { total: Number(h!.total) } : {}),
      users: new Map(Object.entries(u!).map(([user, units]) => [user, Number(units)])),
      holds: Object.entries(held!).map(([rid, hold]) => parseHold(rid, hold)),
      ledger: new Map(Object.entries(l!).map(([rid, entry]) => [rid, parseLedgerEntry(entry)])),
    };
  }

  async repair(itemId: string, plan: RepairPlan): Promise<Repair> {
    const json = JSON.stringify({
      ledger_len: plan.ledger_len,
      total: plan.total,
      per_user_limit: plan.per_user_limit,
      completed: [...plan.completed],
      ledger: plan.ledger.map((e) => [e.request_id, e.status, e.user_id, e.amount]),
      drop_holds: plan.drop_holds,
    });
    const [code, s, f, sold, limit, oversold] = await run(this.redis, "reconcile", keyList(itemId), [json]);
    if (code === "CHANGED") return { kind: "changed" };
    await call(() => this.redis.sadd(ITEMS_KEY, itemId));
    return {
      kind: "repaired",
      levels: { item_id: itemId, stock: Number(s), in_flight: Number(f), sold: Number(sold), per_user_limit: Number(limit) },
      oversold: Number(oversold),
    };
  }
}

export class RedisSaleStats implements SaleStats {
  constructor(private readonly redis: RedisClient) {}

  async rejected(itemId: string, reason: string): Promise<void> {
    await run(this.redis, "count_rejection", keyList(itemId), [reason]);
  }

  async rejections(itemId: string): Promise<Record<string, number>> {
    const counts = await call(() => this.redis.hgetall(itemKeys(itemId).rejections));
    return Object.fromEntries(Object.entries(counts).map(([reason, n]) => [reason, Number(n)]));
  }
}

/**
 * req:{request_id} -> "item|user|amount", written once (SET NX) and kept for the idempotency TTL: one request_id,
 * one order. A copy under the user's slot lets the door (rate_limit.lua) refuse the same buyer's reuse for another
 * item in the call it makes anyway, even when that item is sold out.
 */
export class RedisRequestRegistry implements RequestRegistry {
  constructor(private readonly redis: RedisClient, private readonly ttlSeconds: number) {}

  async register(order: Order.Request): Promise<"registered" | "reused"> {
    const value = `${order.item_id}|${order.user_id}|${order.amount}`;
    const [previous] = await call(() =>
      Promise.all([
        this.redis.set(requestKey(order.request_id), value, "EX", this.ttlSeconds, "NX", "GET"),
        this.redis.set(userRequestKey(order.user_id, order.request_id), `${order.item_id}|${order.amount}`, "EX", this.ttlSeconds, "NX"),
      ]),
    );
    return previous === null || previous === value ? "registered" : "reused";
  }

  async find(requestId: string): Promise<Order.Request | undefined> {
    const value = await call(() => this.redis.get(requestKey(requestId)));
    if (!value) return undefined;
    const [item, user, amount] = value.split("|");
    return { request_id: requestId, item_id: item!, user_id: user!, amount: Number(amount) };
  }
}

export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly redis: RedisClient, private readonly maxRequests: number, private readonly windowSeconds: number) {}

  async hit(order: Pick<Order.Request, "user_id" | "request_id" | "item_id" | "amount">): Promise<RateDecision> {
    const keys = [rateKey(order.user_id), userRequestKey(order.user_id, order.request_id)];
    const [code, n] = await run(this.redis, "rate_limit", keys, [this.windowSeconds * 1000, this.maxRequests, randomUUID(), `${order.item_id}|${order.amount}`]);
    if (Number(code) === 2) return { allowed: false, reused: true };
    return Number(code) === 1 ? { allowed: true, remaining: Number(n) } : { allowed: false, retryAfterMs: Number(n) };
  }
}

export class RedisProbe implements Probe {
  constructor(private readonly redis: RedisClient) {}
  async check(): Promise<void> {
    await call(() => this.redis.ping());
  }
}
