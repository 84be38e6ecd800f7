import { Redis, Cluster } from "ioredis";
import type { Config } from "../../contract/environment";
import { defineScripts, luaDir, type RedisClient } from "./scripts";

/**
 * One client per process. On ElastiCache Serverless (cluster mode, TLS only) this is a Redis.Cluster whose
 * dnsLookup passes the endpoint name through, so TLS certificate checks see the host name.
 */
export function connectRedis(
  config: Pick<Config, "REDIS_URL" | "REDIS_CLUSTER" | "REDIS_CONNECT_TIMEOUT_MS" | "REDIS_COMMAND_TIMEOUT_MS"> & Partial<Pick<Config, "LUA_DIR" | "LAMBDA_TASK_ROOT">>,
): RedisClient {
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
  defineScripts(client, luaDir(config));
  return client;
}
