import type { TestProject } from "vitest/node";
import { startRedisServer } from "@flash/local/redis-server";

/**
 * One private redis-server on a random port for the whole run, plus a one-node Redis Cluster
 * (cluster mode refuses cross-slot scripts, as ElastiCache Serverless does). Both are killed at the end.
 */
export default async function setup(project: TestProject) {
  const standalone = await startRedisServer();
  const cluster = await startRedisServer({ cluster: true });
  project.provide("redisUrl", standalone.url);
  project.provide("redisClusterUrl", cluster.url);
  return async () => {
    await standalone.stop();
    await cluster.stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    redisClusterUrl: string;
  }
}
