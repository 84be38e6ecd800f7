import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { Redis, Cluster } from "ioredis";
import type { Config } from "../config";
import type { Order } from "../order";
import type {
  Admission, Claim, Claims, Hold, Inventory, InventoryAudit, ItemLevels, ItemState, Probe, RateDecision, RateLimiter, Repair, RepairPlan,
  SaleStats, SettleOutcome, Settlement,
} from "../ports";
import { DependencyUnavailableError } from "../errors";

export type RedisClient = Redis | Cluster;

/** The Lua scripts in lua/, each loaded once and then run by SHA (ioredis defineCommand: EVALSHA, EVAL on NOSCRIPT). */
const SCRIPTS = { rate_limit: 1, claim: 1, admit: 6, settle: 5, set_stock: 1, reconcile: 5, count_rejection: 2 } as const;
type ScriptName = keyof typeof SCRIPTS;

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
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, { numberOfKeys, lua: readFileSync(join(dir, `${name}.lua`), "utf8") });
  }
  return client;
}

async function run(client: RedisClient, script: ScriptName, keys: string[], args: (string | number)[]): Promise<string[]> {
  try {
    return await (client as unknown as Record<ScriptName, (...a: (string | number)[]) => Promise<string[]>>)[script](...keys, ...args);
  } catch (err) {
    throw new DependencyUnavailableError("redis", err);
  }
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new DependencyUnavailableError("redis", err);
  }
}

/** Every key of one item shares the hash tag {item_id}, so each script stays in one cluster slot. */
export const itemKeys = (itemId: string) => {
  const tag = `item:{${itemId}}`;
  return [tag, `${tag}:users`, `${tag}:holds`, `${tag}:held_at`, `${tag}:ledger`];
};
export const claimKey = (requestId: string) => `req:{${requestId}}`;
export const rejectionsKey = (itemId: string) => `item:{${itemId}}:rejections`;
/** The registry of items on sale: its own slot, so it is written beside set_stock.lua, not inside it. */
export const ITEMS_KEY = "items";

const parseHold = (requestId: string, hold: string): Hold => {
  const [user, amount, at] = hold.split("|");
  return { request_id: requestId, user_id: user!, amount: Number(amount), admitted_ms: Number(at) };
};
export const rateKey = (userId: string) => `user:{${userId}}:rate`;

export class RedisInventory implements Inventory {
  constructor(private readonly redis: RedisClient) {}

  async admit(order: Order.Request, options: { countRejections?: boolean } = {}): Promise<Admission> {
    const keys = [...itemKeys(order.item_id), rejectionsKey(order.item_id)];
    const [code, a, b] = await run(this.redis, "admit", keys, [order.request_id, order.user_id, order.amount, options.countRejections ? 1 : 0]);
    switch (code) {
      case "ADMITTED":
        return { kind: "admitted", stockLeft: Number(a) };
      case "HELD":
        return { kind: "held" };
      case "SETTLED":
        return { kind: "settled", outcome: a as Order.FinalStatus };
      case "UNKNOWN_ITEM":
        return { kind: "unknown_item" };
      case "SOLD_OUT":
        return { kind: "sold_out", stockLeft: Number(a) };
      case "LIMIT":
        return { kind: "limit", held: Number(a), limit: Number(b) };
    }
    throw new Error(`admit.lua returned ${code}`);
  }

  async settle(itemId: string, requestId: string, outcome: SettleOutcome): Promise<Settlement> {
    const [code, settled] = await run(this.redis, "settle", itemKeys(itemId), [requestId, outcome]);
    return code === "SETTLED" ? { kind: "settled", outcome: settled as Order.FinalStatus } : { kind: "no_hold" };
  }

  async setStock(itemId: string, stock: number, perUserLimit: number): Promise<ItemLevels> {
    const [s, f, sold, limit] = await run(this.redis, "set_stock", itemKeys(itemId).slice(0, 1), [stock, perUserLimit]);
    await call(() => this.redis.sadd(ITEMS_KEY, itemId));
    return { item_id: itemId, stock: Number(s), in_flight: Number(f), sold: Number(sold), per_user_limit: Number(limit) };
  }

  async levels(itemId: string): Promise<ItemLevels | undefined> {
    const [s, f, sold, limit] = await call(() => this.redis.hmget(itemKeys(itemId)[0], "stock", "in_flight", "sold", "per_user_limit"));
    if (s === null) return undefined;
    return { item_id: itemId, stock: Number(s), in_flight: Number(f ?? 0), sold: Number(sold ?? 0), per_user_limit: Number(limit ?? 1) };
  }

  async items(): Promise<string[]> {
    return (await call(() => this.redis.smembers(ITEMS_KEY))).sort();
  }

  /**
   * Release the oldest holds admitted more than ttlMs ago, at most `limit`, through settle.lua (FAILED_EXPIRED):
   * one way to release a hold, whoever asks. A hold the processor settles in between is not counted as expired.
   */
  async expire(itemId: string, ttlMs: number, limit: number): Promise<Hold[]> {
    const [, , holds, heldAt] = itemKeys(itemId);
    const rids = await call(() => this.redis.zrangebyscore(heldAt!, "-inf", Date.now() - ttlMs, "LIMIT", 0, limit));
    if (!rids.length) return [];
    const values = await call(() => this.redis.hmget(holds!, ...rids));
    const released: Hold[] = [];
    for (const [i, rid] of rids.entries()) {
      const settled = await this.settle(itemId, rid, "FAILED_EXPIRED");
      if (values[i] && settled.kind === "settled" && settled.outcome === "FAILED_EXPIRED") released.push(parseHold(rid, values[i]!));
    }
    return released;
  }
}

export class RedisInventoryAudit implements InventoryAudit {
  constructor(private readonly redis: RedisClient) {}

  async snapshot(itemId: string): Promise<ItemState> {
    const [item, users, holds, , ledger] = itemKeys(itemId);
    // One MULTI (all keys share the item's slot): counters, holds and ledger are read at one instant.
    const replies = await call(() => this.redis.multi().hgetall(item!).hgetall(users!).hgetall(holds!).hgetall(ledger!).exec());
    const [h, u, held, l] = (replies ?? []).map(([err, value]) => {
      if (err) throw new DependencyUnavailableError("redis", err);
      return value as Record<string, string>;
    });
    const levels: ItemLevels | undefined =
      h!.stock === undefined
        ? undefined
        : { item_id: itemId, stock: Number(h!.stock), in_flight: Number(h!.in_flight ?? 0), sold: Number(h!.sold ?? 0), per_user_limit: Number(h!.per_user_limit ?? 1) };
    return {
      levels,
      ...(h!.total !== undefined ? { total: Number(h!.total) } : {}),
      users: Object.fromEntries(Object.entries(u!).map(([user, units]) => [user, Number(units)])),
      holds: Object.entries(held!).map(([rid, hold]) => parseHold(rid, hold)),
      ledger: l!,
    };
  }

  async repair(itemId: string, plan: RepairPlan): Promise<Repair> {
    // Empty objects must stay JSON objects for cjson; arrays too.
    const [code, s, f, sold, limit, oversold] = await run(this.redis, "reconcile", itemKeys(itemId), [JSON.stringify(plan)]);
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
    await run(this.redis, "count_rejection", [itemKeys(itemId)[0]!, rejectionsKey(itemId)], [reason]);
  }

  async rejections(itemId: string): Promise<Record<string, number>> {
    const counts = await call(() => this.redis.hgetall(rejectionsKey(itemId)));
    return Object.fromEntries(Object.entries(counts).map(([reason, n]) => [reason, Number(n)]));
  }
}

export class RedisClaims implements Claims {
  /** A claim still "admitting" after this long belongs to a buy call that died; a retry may take it over. */
  static readonly TAKEOVER_MS = 10_000;

  constructor(private readonly redis: RedisClient, private readonly ttlSeconds: number) {}

  async claim(order: Order.Request, acceptedAt: string): Promise<Claim> {
    const [code, at] = await run(this.redis, "claim", [claimKey(order.request_id)], [
      order.user_id, order.item_id, order.amount, this.ttlSeconds, acceptedAt, RedisClaims.TAKEOVER_MS,
    ]);
    if (code === "REUSED") return { kind: "reused" };
    return { kind: code === "CLAIMED" ? "claimed" : "duplicate", acceptedAt: at };
  }

  async markQueued(requestId: string): Promise<void> {
    await call(() => this.redis.hset(claimKey(requestId), "s", "queued"));
  }

  async release(requestId: string): Promise<void> {
    await call(() => this.redis.del(claimKey(requestId)));
  }

  async pending(requestId: string): Promise<Order.Record | undefined> {
    const [u, i, a, s, t] = await call(() => this.redis.hmget(claimKey(requestId), "u", "i", "a", "s", "t"));
    if (u === null || s !== "queued") return undefined;
    return { request_id: requestId, user_id: u, item_id: i!, amount: Number(a), status: "PENDING", created_at: t!, updated_at: t! };
  }
}

export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly redis: RedisClient, private readonly maxRequests: number, private readonly windowSeconds: number) {}

  async hit(userId: string): Promise<RateDecision> {
    const [allowed, n] = await run(this.redis, "rate_limit", [rateKey(userId)], [this.windowSeconds * 1000, this.maxRequests, randomUUID()]);
    return Number(allowed) === 1 ? { allowed: true, remaining: Number(n) } : { allowed: false, retryAfterMs: Number(n) };
  }
}

export class RedisProbe implements Probe {
  constructor(private readonly redis: RedisClient) {}
  async check(): Promise<void> {
    await call(() => this.redis.ping());
  }
}
