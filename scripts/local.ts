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

// A bug in one request must not stop the engine and lose the accepted orders of everyone else: log it, keep serving.
process.on("unhandledRejection", (reason) => console.error("unhandled rejection (the engine keeps serving):", reason));

// Imported after the environment is set: Powertools reads it when the handler modules load.
const { startLocalEngine } = await import("../packages/functions/src/local/engine");
const engine = await startLocalEngine();
// What the ops CLI (npm run ops -- <command>) needs, ready to paste into another shell.
const cli: Record<string, string | undefined> = {
  API_URL: engine.url,
  ADMIN_TOKEN: engine.adminToken,
  REDIS_URL: engine.redisUrl,
  QUEUE_URL: engine.resources.queueUrl,
  DLQ_URL: engine.resources.dlqUrl,
  ORDERS_TABLE: engine.resources.table,
  AWS_ENDPOINT_URL_SQS: process.env.AWS_ENDPOINT_URL_SQS,
  AWS_ENDPOINT_URL_DYNAMODB: process.env.AWS_ENDPOINT_URL_DYNAMODB,
  AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
};
// One write: whoever reads the banner (a person, a test, a script) gets it whole.
console.log(
  [
    `flash-sale engine listening on ${engine.url}`,
    `admin token: ${engine.adminToken}${process.env.ADMIN_TOKEN ? " (from ADMIN_TOKEN)" : " (generated; set ADMIN_TOKEN to choose one)"}`,
    `redis: ${engine.redisUrl}  queue: ${engine.resources.queueUrl}  table: ${engine.resources.table}`,
    "",
    "# ops CLI environment (paste into another shell, then: npm run ops -- stock):",
    ...Object.entries(cli).filter(([, v]) => v).map(([k, v]) => `export ${k}=${JSON.stringify(v)}`),
  ].join("\n"),
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    console.log(`\n${signal}: draining in-flight work...`);
    await engine.stop();
    console.log("stopped cleanly");
    process.exit(0);
  });
}
