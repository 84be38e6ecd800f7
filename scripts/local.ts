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
if (env.QUEUE_TRANSPORT === "kafka" && !env.KAFKA_BROKERS) {
  console.error(
    "QUEUE_TRANSPORT=kafka needs KAFKA_BROKERS=host:port, a Kafka-protocol broker to use " +
      "(e.g. docker compose --profile localstack up -d redpanda, then KAFKA_BROKERS=127.0.0.1:19092).",
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
  env,
});
const { config, resources } = engine;
const standIns = !env.QUEUE_URL && !env.AWS_ENDPOINT_URL;
const kafka = config.QUEUE_TRANSPORT === "kafka";
// What the ops CLI (npm run ops -- <command>) needs, ready to paste into another shell.
const cli: Record<string, string | undefined> = {
  API_URL: engine.url,
  ADMIN_TOKEN: engine.adminToken,
  REDIS_URL: engine.redisUrl,
  ...(kafka
    ? {
        QUEUE_TRANSPORT: "kafka",
        KAFKA_BROKERS: config.KAFKA_BROKERS,
        KAFKA_TOPIC: config.KAFKA_TOPIC,
        KAFKA_DEAD_LETTER_TOPIC: config.KAFKA_DEAD_LETTER_TOPIC,
      }
    : { QUEUE_URL: resources.queueUrl, DLQ_URL: resources.dlqUrl, AWS_ENDPOINT_URL_SQS: config.AWS_ENDPOINT_URL_SQS }),
  ORDERS_TABLE: resources.table,
  AWS_ENDPOINT_URL_DYNAMODB: config.AWS_ENDPOINT_URL_DYNAMODB,
  AWS_REGION: config.AWS_REGION,
  AWS_ACCESS_KEY_ID: standIns ? LOCAL_CREDENTIALS.accessKeyId : env.AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: standIns ? LOCAL_CREDENTIALS.secretAccessKey : env.AWS_SECRET_ACCESS_KEY,
};
// One write: whoever reads the banner (a person, a test, a script) gets it whole.
console.log(
  [
    `flash-sale engine listening on ${engine.url}`,
    `admin token: ${engine.adminToken}${env.ADMIN_TOKEN ? " (from ADMIN_TOKEN)" : " (generated; set ADMIN_TOKEN to choose one)"}`,
    `redis: ${engine.redisUrl}  ${kafka ? `queue: Kafka topic ${config.KAFKA_TOPIC} on ${config.KAFKA_BROKERS} (dead letters: ${config.KAFKA_DEAD_LETTER_TOPIC})` : `queue: ${resources.queueUrl}`}  table: ${resources.table}`,
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
