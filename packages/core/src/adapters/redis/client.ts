import { Redis, Cluster } from "ioredis";
import type { Config } from "../../contract/environment";
import { defineScripts, luaDir, type RedisClient } from "./scripts";
import { iamPassword } from "./iam-auth";

type AuthSettings = Partial<
  Pick<Config, "REDIS_IAM_USER" | "REDIS_CACHE_NAME" | "AWS_REGION" | "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN">
>;

/** With REDIS_IAM_USER, every connection authenticates as that user with a fresh IAM token; otherwise as the URL says. */
function passwordSource(config: AuthSettings): (() => string) | undefined {
  if (!config.REDIS_IAM_USER) return undefined;
  if (!config.REDIS_CACHE_NAME || !config.AWS_ACCESS_KEY_ID || !config.AWS_SECRET_ACCESS_KEY || !config.AWS_REGION) {
    throw new Error("REDIS_IAM_USER needs REDIS_CACHE_NAME, AWS_REGION and the function's AWS credentials to sign its token");
  }
  return iamPassword({
    cacheName: config.REDIS_CACHE_NAME,
    userId: config.REDIS_IAM_USER,
    region: config.AWS_REGION,
    credentials: { accessKeyId: config.AWS_ACCESS_KEY_ID, secretAccessKey: config.AWS_SECRET_ACCESS_KEY, sessionToken: config.AWS_SESSION_TOKEN },
  });
}

/** ioredis reads options.password each time a connection authenticates: a getter hands it the current token. */
function usePassword(options: object, password: () => string): void {
  Object.defineProperty(options, "password", { get: password, enumerable: true, configurable: true });
}

/**
 * One client per process. On ElastiCache Serverless (cluster mode, TLS only) this is a Redis.Cluster whose
 * dnsLookup passes the endpoint name through, so TLS certificate checks see the host name.
 */
export function connectRedis(
  config: Pick<Config, "REDIS_URL" | "REDIS_CLUSTER" | "REDIS_CONNECT_TIMEOUT_MS" | "REDIS_COMMAND_TIMEOUT_MS"> &
    Partial<Pick<Config, "LUA_DIR" | "LAMBDA_TASK_ROOT">> &
    AuthSettings,
): RedisClient {
  const url = new URL(config.REDIS_URL);
  const password = passwordSource(config);
  const options = {
    connectTimeout: config.REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    // Fail fast: the caller answers 503 or returns the record for redelivery rather than waiting.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    username: password ? config.REDIS_IAM_USER : url.username ? decodeURIComponent(url.username) : undefined,
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
  if (password) {
    if (client instanceof Cluster) client.on("+node", (node: Redis) => usePassword(node.options, password));
    else usePassword(client.options, password);
  }
  client.on("error", () => undefined); // surfaced per command as DependencyUnavailableError
  defineScripts(client, luaDir(config));
  return client;
}
