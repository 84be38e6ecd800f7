import { defineConfig } from "vitest/config";

const env = {
  NODE_ENV: "test",
  SST_TELEMETRY_DISABLED: "1",
  POWERTOOLS_LOG_LEVEL: "SILENT",
  POWERTOOLS_METRICS_DISABLED: "true",
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_REGION: "us-east-1",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
};

/**
 * test/kafka needs a Kafka-protocol broker (KAFKA_BROKERS=host:port): its project exists only then, so `npm test`
 * neither runs nor counts those tests without one, and says so here. `npm run test:kafka` runs them alone.
 */
const kafkaBrokers = process.env.KAFKA_BROKERS;
if (!kafkaBrokers && !process.argv.includes("--project") && !process.env.FLASH_KAFKA_NOTE) {
  process.env.FLASH_KAFKA_NOTE = "1"; // once per run, however often the config is loaded
  console.warn("[kafka] test/kafka NOT RUN: KAFKA_BROKERS is not set (a Kafka-protocol broker; see docs/kafka.md, npm run test:kafka)");
}

export default defineConfig({
  test: {
    // In CI, a JSON summary too, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".ci/results.json" }]] : ["default"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env,
    projects: [
      // Fast, no services: the domain against in-memory ports, schemas, telemetry, docs. `npx vitest run --project unit`
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      // Real services: a private redis-server (and Redis Cluster) per run, fauxqs and dynalite in-process, faults.
      {
        extends: true,
        test: { name: "services", include: ["test/{integration,e2e,faults,stacks}/**/*.test.ts"], globalSetup: ["test/support/global-setup.ts"] },
      },
      // A real broker at KAFKA_BROKERS (never started by the tests: none installs from npm or Debian's packages).
      ...(kafkaBrokers ? [{ extends: true as const, test: { name: "kafka", include: ["test/kafka/**/*.test.ts"], env: { ...env, KAFKA_BROKERS: kafkaBrokers } } }] : []),
    ],
  },
});
