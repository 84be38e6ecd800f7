import { use, type StackContext } from "sst/constructs";
import { RemovalPolicy } from "aws-cdk-lib";
import * as elasticache from "aws-cdk-lib/aws-elasticache";
import { getStageConfig } from "./config.js";
import { Network } from "./Network.js";

export interface CacheOutputs {
  /** rediss://<endpoint>:<port> on AWS; REDIS_URL from the environment in dev mode. */
  redisUrl: string;
  /** "true" on ElastiCache Serverless (always cluster mode). */
  redisCluster: "true" | "false";
  cache?: elasticache.CfnServerlessCache;
  /** The cache user the functions authenticate as, with IAM tokens (absent in dev mode). */
  iamUser?: elasticache.CfnUser;
  /** The serverless cache's name, which IAM tokens are signed for. */
  cacheName?: string;
}

/** ElastiCache Serverless names: lower-case letters, digits and single hyphens, <= 40 chars. */
export function cacheName(stage: string, appName: string): string {
  const name = `${stage}-${appName}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return name || "flash-sale";
}

/**
 * ElastiCache Serverless for Valkey: always cluster mode, always TLS (in transit), encrypted
 * at rest. Usage limits come from the stage config.
 *
 * Dev mode (`sst dev`) creates no cache: the functions run locally and use REDIS_URL (and
 * optionally REDIS_CLUSTER) from the environment at synth time.
 */
export function Cache({ stack, app }: StackContext): CacheOutputs {
  if (app.mode === "dev") {
    const redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      throw new Error(
        "REDIS_URL is not set. In `sst dev` mode no ElastiCache cache is created; " +
          "point the functions at a Redis/Valkey you run yourself, e.g. " +
          "`REDIS_URL=redis://127.0.0.1:6379 npx sst dev` (or put REDIS_URL in .env.<stage>). " +
          "Set REDIS_CLUSTER=true if that server is a cluster.",
      );
    }
    const cluster = process.env.REDIS_CLUSTER ?? "false";
    if (cluster !== "true" && cluster !== "false") {
      throw new Error(`REDIS_CLUSTER must be "true" or "false", got "${cluster}"`);
    }
    return { redisUrl, redisCluster: cluster };
  }

  const config = getStageConfig(app.stage);
  const { vpc, cacheSecurityGroup, subnets } = use(Network);
  if (!vpc || !cacheSecurityGroup || !subnets) throw new Error("Network stack did not create a VPC");

  // Clients authenticate: the functions as one ElastiCache user in IAM mode (a short-lived SigV4 token as the AUTH
  // password, see packages/core/src/adapters/redis/iam-auth.ts), allowed by elasticache:Connect on their roles.
  // For IAM mode the user's id and name are the same. A Valkey user group needs no "default" user.
  const name = cacheName(app.stage, app.name);
  const iamUser = new elasticache.CfnUser(stack, "CacheUser", {
    engine: "valkey",
    userId: `${name}-fn`.slice(0, 40),
    userName: `${name}-fn`.slice(0, 40),
    accessString: "on ~* &* +@all",
    authenticationMode: { Type: "iam" },
  });
  const userGroup = new elasticache.CfnUserGroup(stack, "CacheUsers", {
    engine: "valkey",
    userGroupId: `${name}-users`.slice(0, 40),
    userIds: [iamUser.userId],
  });
  userGroup.addDependency(iamUser);

  const cache = new elasticache.CfnServerlessCache(stack, "Cache", {
    serverlessCacheName: name,
    userGroupId: userGroup.userGroupId,
    description: `${app.name} ${app.stage} stock, reservations, rate limits, idempotency`,
    engine: "valkey",
    majorEngineVersion: "8",
    cacheUsageLimits: {
      dataStorage: { maximum: config.cache.maxDataStorageGb, unit: "GB" },
      ecpuPerSecond: { maximum: config.cache.maxEcpuPerSecond },
    },
    securityGroupIds: [cacheSecurityGroup.securityGroupId],
    subnetIds: vpc.selectSubnets(subnets).subnetIds,
    snapshotRetentionLimit: config.retainData ? 7 : 0,
  });
  // Data: retained on production/staging, deleted with the stage everywhere else (where
  // the app-wide default removal policy "destroy" from stacks/index.ts also applies).
  cache.applyRemovalPolicy(config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);

  cache.addDependency(userGroup);

  return {
    cache,
    iamUser,
    cacheName: name,
    redisUrl: `rediss://${cache.attrEndpointAddress}:${cache.attrEndpointPort}`,
    redisCluster: "true",
  };
}
