import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ReplyError, type Redis, type Cluster } from "ioredis";
import type { Probe } from "../../domain/ports";
import { DependencyUnavailableError, ScriptError } from "../../domain/errors";

export type RedisClient = Redis | Cluster;

/**
 * The Lua scripts in lua/, each loaded once and then run by SHA (ioredis defineCommand: EVALSHA, EVAL on NOSCRIPT).
 * They all work in one item's slot: they get its keys (itemKeys, in the order lua/lib.lua names them) with lib.lua
 * in front; admit also gets the buyer's rate-limit key for the item.
 */
export const ITEM_SCRIPTS = ["admit", "settle", "withdraw", "dead_letter", "overdue", "set_stock", "shelf", "reconcile", "count_rejection"] as const;
export type ScriptName = (typeof ITEM_SCRIPTS)[number];
export const ITEM_KEY_COUNT = 8;
const EXTRA_KEYS: Partial<Record<ScriptName, number>> = { admit: 1 };

/** lua/ ships beside the bundle on Lambda (copyFiles) and sits at the repo root in development. */
export function luaDir(settings: { LUA_DIR?: string; LAMBDA_TASK_ROOT?: string } = {}): string {
  const candidates = [settings.LUA_DIR, settings.LAMBDA_TASK_ROOT && join(settings.LAMBDA_TASK_ROOT, "lua")];
  for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 7; dir = dirname(dir), i++) candidates.push(join(dir, "lua"));
  const found = candidates.find((d) => d && existsSync(join(d, "admit.lua")));
  if (!found) throw new Error(`Lua scripts not found; looked in ${candidates.filter(Boolean).join(", ")}`);
  return found;
}

export function defineScripts(client: RedisClient, dir: string): void {
  const lib = readFileSync(join(dir, "lib.lua"), "utf8");
  for (const name of ITEM_SCRIPTS) {
    client.defineCommand(name, { numberOfKeys: ITEM_KEY_COUNT + (EXTRA_KEYS[name] ?? 0), lua: lib + readFileSync(join(dir, `${name}.lua`), "utf8") });
  }
}

/** Errors Redis answers while it cannot serve (loading, failing over, busy): retry later. Any other reply error is a bug. */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS|MOVED|ASK)\b/;

export function failure(err: unknown): Error {
  if (err instanceof ReplyError && !UNAVAILABLE_REPLY.test((err as Error).message)) return new ScriptError((err as Error).message, { cause: err });
  return new DependencyUnavailableError("redis", err);
}

export async function run(client: RedisClient, script: ScriptName, keys: string[], args: (string | number)[]): Promise<string[]> {
  try {
    return await (client as unknown as Record<ScriptName, (...a: (string | number)[]) => Promise<string[]>>)[script](...keys, ...args);
  } catch (err) {
    throw failure(err);
  }
}

export async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw failure(err);
  }
}

export class RedisProbe implements Probe {
  constructor(private readonly redis: RedisClient) {}
  async check(): Promise<void> {
    await call(() => this.redis.ping());
  }
}
