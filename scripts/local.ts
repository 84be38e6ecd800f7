import { hasRedisServer } from "@flash/local/redis-server";

// npm start: the whole engine on this machine. See README.md, "Run it locally".
// This launcher is the one place that turns the shell's environment into the engine's options.
const env = process.env;
if (!env.REDIS_URL && !hasRedisServer()) {
  console.error(
    "redis-server is not on PATH and REDIS_URL is not set.\n" +
      "Install Redis (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis), or point REDIS_URL at one.",
  );
  process.exit(1);
}
// Powertools reads these itself, when the handler modules load.
env.POWERTOOLS_METRICS_DISABLED ??= "true"; // EMF lines are for CloudWatch; set to false to see them
env.POWERTOOLS_LOG_LEVEL ??= "WARN";

// A bug in one request must not stop the engine and lose the accepted orders of everyone else: log it, keep serving.
process.on("unhandledRejection", (reason) => console.error("unhandled rejection (the engine keeps serving):", reason));

// Imported after the environment is set: Powertools reads it when the handler modules load.
const { startLocalEngine } = await import("@flash/local/engine");
const { LOCAL_CREDENTIALS } = await import("@flash/local/stand-ins");
const engine = await startLocalEngine({
  port: Number(env.PORT ?? 3000),
  adminToken: env.ADMIN_TOKEN,
  redisUrl: env.REDIS_URL || undefined,
  sweepIntervalMs: Number(env.SWEEP_INTERVAL_SECONDS ?? 60) * 1000,
  storefront: { items: (env.STOREFRONT_ITEMS ?? "").split(",").map((s) => s.trim()).filter(Boolean) },
  env,
});
const { config, resources } = engine;
const standIns = !env.QUEUE_URL && !env.AWS_ENDPOINT_URL;
// What the ops CLI (npm run ops -- <command>) needs, ready to paste into another shell.
const cli: Record<string, string | undefined> = {
  API_URL: engine.url,
  ADMIN_TOKEN: engine.adminToken,
  REDIS_URL: engine.redisUrl,
  QUEUE_URL: resources.queueUrl,
  DLQ_URL: resources.dlqUrl,
  ORDERS_TABLE: resources.table,
  AWS_ENDPOINT_URL_SQS: config.AWS_ENDPOINT_URL_SQS,
  AWS_ENDPOINT_URL_DYNAMODB: config.AWS_ENDPOINT_URL_DYNAMODB,
  AWS_REGION: config.AWS_REGION,
  AWS_ACCESS_KEY_ID: standIns ? LOCAL_CREDENTIALS.accessKeyId : env.AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: standIns ? LOCAL_CREDENTIALS.secretAccessKey : env.AWS_SECRET_ACCESS_KEY,
};
// One write: whoever reads the banner (a person, a test, a script) gets it whole.
console.log(
  [
    `flash-sale engine listening on ${engine.url}`,
    `storefront: ${engine.url}/ (items from ?items=sku-1,sku-2 or STOREFRONT_ITEMS)`,
    `admin token: ${engine.adminToken}${env.ADMIN_TOKEN ? " (from ADMIN_TOKEN)" : " (generated; set ADMIN_TOKEN to choose one)"}`,
    `redis: ${engine.redisUrl}  queue: ${resources.queueUrl}  table: ${resources.table}`,
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
