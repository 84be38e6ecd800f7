import net from "node:net";
import path from "node:path";
import { Redis } from "ioredis";
import { hasRedisServer } from "@flash/local/redis-server";
import { profileFile, readProfile, removeProfile, writeProfile, type LocalProfile } from "./ops/profile";

// npm start: the whole engine on this machine. See README.md, "Run it locally".
// This launcher is the one place that turns the shell's environment into the engine's options. Whatever goes wrong
// at start is said in one line, and nothing it started is left running.
const env = process.env;

/** Print one line and leave: no stack trace for a mistake in the environment. */
function refuse(message: string, code = 1): never {
  console.error(`npm start: ${message}`);
  process.exit(code);
}

const portText = env.PORT ?? "3000";
const port = Number(portText);
if (!/^\d+$/.test(portText) || port > 65_535) refuse(`PORT must be a port number from 0 to 65535, not ${JSON.stringify(portText)}`, 2);
const sweepSeconds = Number(env.SWEEP_INTERVAL_SECONDS ?? 60);
if (!Number.isFinite(sweepSeconds) || sweepSeconds < 0) refuse(`SWEEP_INTERVAL_SECONDS must be a number of seconds >= 0 (0: off), not ${JSON.stringify(env.SWEEP_INTERVAL_SECONDS)}`, 2);
if (!env.REDIS_URL && !hasRedisServer()) {
  refuse(
    "redis-server is not on PATH and REDIS_URL is not set.\n" +
      "Install Redis (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis), or point REDIS_URL at one.",
  );
}

// Before anything is spawned: is the port free?
if (port !== 0) {
  const free = await new Promise<boolean>((resolve) => {
    const probe = net.createServer().once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
  if (!free) refuse(`port ${port} is in use; set PORT to another one (PORT=0 picks a free port)`);
}

if (env.QUEUE_TRANSPORT === "kafka" && !env.KAFKA_BROKERS) {
  refuse(
    "QUEUE_TRANSPORT=kafka needs KAFKA_BROKERS=host:port, a Kafka-protocol broker to use " +
      "(e.g. docker compose --profile localstack up -d redpanda, then KAFKA_BROKERS=127.0.0.1:19092).",
  );
}
// Powertools reads these itself, when the handler modules load.
env.POWERTOOLS_METRICS_DISABLED ??= "true"; // EMF lines are for CloudWatch; set to false to see them
env.POWERTOOLS_LOG_LEVEL ??= "WARN";
// The one switch for the AWS SDK's Node-version notice, set the same way in the ops CLI, the tests and the bench.
env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// A bug in one request must not stop the engine and lose the accepted orders of everyone else: log it, keep serving.
process.on("unhandledRejection", (reason) => console.error("unhandled rejection (the engine keeps serving):", reason));

// Imported after the environment is set: Powertools reads it when the handler modules load.
const { startLocalEngine } = await import("@flash/local/engine");
const { LOCAL_CREDENTIALS } = await import("@flash/local/stand-ins");
const { ConfigError } = await import("@flash/core/domain/errors");

let engine: Awaited<ReturnType<typeof startLocalEngine>>;
try {
  // startLocalEngine stops whatever it started when a later step fails.
  engine = await startLocalEngine({
    port,
    adminToken: env.ADMIN_TOKEN || undefined, // empty is unset: a token is generated
    redisUrl: env.REDIS_URL || undefined,
    sweepIntervalMs: sweepSeconds * 1000,
    storefront: { items: (env.STOREFRONT_ITEMS ?? "").split(",").map((s) => s.trim()).filter(Boolean) },
    env,
  });
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  if (err instanceof ConfigError) refuse(e.message, 2);
  if (e.code === "EADDRINUSE") refuse(`port ${port} is in use; set PORT to another one (PORT=0 picks a free port)`);
  refuse(`could not start: ${e.message}`);
}
const { config, resources } = engine;

// A Redis of the user's own that does not answer: the engine serves, but every buy answers 503 until it does.
if (env.REDIS_URL) {
  const probe = new Redis(env.REDIS_URL, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => undefined);
  const answered = await probe.connect().then(() => probe.ping()).then(() => true, () => false);
  probe.disconnect();
  if (!answered) console.warn(`warning: REDIS_URL ${env.REDIS_URL} does not answer; buys answer 503 {"dependency":"redis"} until it does`);
}

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

// Ctrl-C and a process manager's SIGTERM (or SIGHUP, a closed terminal) drain the same way. Listening before the
// banner is printed: whoever acts on the banner (a person, a test) finds them in place.
const connectionFile = profileFile(env);
let connectionWritten = false;
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, async () => {
    stopping = true;
    if (connectionWritten) removeProfile(connectionFile); // the CLI must not find a profile that is going away
    console.log(`\n${signal}: draining in-flight work...`);
    await engine.stop();
    console.log("stopped cleanly");
    process.exit(0);
  });
}

// The same, in the connection file the ops CLI reads when no target is given (scripts/ops/profile.ts): a restart
// needs no new exports. Real AWS credentials are never written to it, only the stand-ins'. Another npm start that is
// running and answering keeps the file; one that is gone (or does not answer) loses it to this one.
const connection = await (async (): Promise<{ line: string; written: boolean }> => {
  const existing = readProfile(connectionFile);
  if ("found" in existing && existing.found.pid !== process.pid) {
    const answers = await fetch(`${existing.found.API_URL}/health`, { signal: AbortSignal.timeout(1_000) }).then(() => true, () => false);
    if (answers) {
      return {
        line: `ops CLI: ${connectionFile} belongs to the npm start already running (pid ${existing.found.pid}, ${existing.found.API_URL}), which the CLI finds; for this one, paste the exports below`,
        written: false,
      };
    }
  }
  if (stopping) return { line: "", written: false };
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...rest } = cli;
  const profile = {
    pid: process.pid,
    started_at: new Date().toISOString(),
    ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v)),
    ...(standIns ? { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY } : {}),
  } as LocalProfile;
  try {
    writeProfile(connectionFile, profile);
  } catch (err) {
    return { line: `ops CLI: could not write ${connectionFile} (${(err as Error).message}); paste the exports below`, written: false };
  }
  const shown = path.relative(process.cwd(), connectionFile).startsWith("..") ? connectionFile : path.relative(process.cwd(), connectionFile);
  return {
    line: `ops CLI: \`npm run ops -- stock\` in this directory finds this profile by itself (its connection details are in ${shown}, removed when it stops)`,
    written: true,
  };
})();
// Removed on every way out this process sees; after a SIGKILL it stays, and the CLI ignores it (its pid is gone).
connectionWritten = connection.written;
if (connection.written) process.once("exit", () => removeProfile(connectionFile));
// One write: whoever reads the banner (a person, a test, a script) gets it whole.
console.log(
  [
    `flash-sale engine listening on ${engine.url}`,
    `storefront: ${engine.url}/ (items from ?items=sku-1,sku-2 or STOREFRONT_ITEMS)`,
    `admin token: ${engine.adminToken}${env.ADMIN_TOKEN ? " (from ADMIN_TOKEN)" : " (generated; set ADMIN_TOKEN to choose one)"}`,
    `redis: ${engine.redisUrl}  ${kafka ? `queue: Kafka topic ${config.KAFKA_TOPIC} on ${config.KAFKA_BROKERS} (dead letters: ${config.KAFKA_DEAD_LETTER_TOPIC})` : `queue: ${resources.queueUrl}`}  table: ${resources.table}`,
    engine.auth
      ? `buyer identity: JWT from ${engine.auth.issuer} (audience ${engine.auth.audience.join(", ")}; buyer = claim ${engine.auth.userClaim})` +
        (engine.auth.dev ? "\n  dev issuer: `npm run ops -- token <user_id>` prints a token; send it as Authorization: Bearer <token>" : "")
      : "buyer identity: off (the body's user_id names the buyer; AUTH_DEV_ISSUER=1 or AUTH_JWT_ISSUER to turn it on)",
    ...(standIns && !env.REDIS_URL
      ? ["data lives in memory: stopping the engine loses stock, orders and queued messages (every start is a fresh sale)"]
      : []),
    "",
    connection.line,
    "# ops CLI environment, to pin this run or to reach it from elsewhere (paste into another shell; it wins over the file):",
    ...Object.entries(cli).filter(([, v]) => v).map(([k, v]) => `export ${k}=${JSON.stringify(v)}`),
  ].join("\n"),
);

