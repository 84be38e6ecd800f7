import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { connectRedis } from "@flash/core/adapters/redis/client";
import { type RedisClient } from "@flash/core/adapters/redis/scripts";

export const uid = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** A client on the run's redis-server (or its cluster twin), with short timeouts. */
export function redisClient(kind: "standalone" | "cluster" = "standalone"): RedisClient {
  return connectRedis({
    REDIS_URL: kind === "cluster" ? inject("redisClusterUrl") : inject("redisUrl"),
    REDIS_CLUSTER: kind === "cluster" ? "true" : "false",
    REDIS_CONNECT_TIMEOUT_MS: 1000,
    REDIS_COMMAND_TIMEOUT_MS: 1000,
  });
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
