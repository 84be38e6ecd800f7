import { hasRedisServer } from "../packages/functions/src/local/redis-server";

// npm start: the whole engine on this machine. See README.md, "Run it locally".
if (!process.env.REDIS_URL && !hasRedisServer()) {
  console.error(
    "redis-server is not on PATH and REDIS_URL is not set.\n" +
      "Install Redis (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis), or point REDIS_URL at one.",
  );
  process.exit(1);
}
process.env.POWERTOOLS_METRICS_DISABLED ??= "true"; // EMF lines are for CloudWatch; set to false to see them
process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";

// Imported after the environment is set: Powertools reads it when the handler modules load.
const { startLocalEngine } = await import("../packages/functions/src/local/engine");
const engine = await startLocalEngine();
console.log(`flash-sale engine listening on ${engine.url}`);
console.log(`admin token: ${engine.adminToken}${process.env.ADMIN_TOKEN ? " (from ADMIN_TOKEN)" : " (generated; set ADMIN_TOKEN to choose one)"}`);
console.log(`redis: ${engine.redisUrl}  queue: ${engine.resources.queueUrl}  table: ${engine.resources.table}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    console.log(`\n${signal}: draining in-flight work...`);
    await engine.stop();
    console.log("stopped cleanly");
    process.exit(0);
  });
}
