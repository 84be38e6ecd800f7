import net from "node:net";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaOrderQueue } from "@flash/core/adapters/kafka/queue";
import { loadConfig } from "@flash/core/contract/environment";
import { freePort } from "@flash/local/redis-server";

/**
 * The Kafka adapter where no broker is needed: it fails fast and says "queue unavailable" (the buy call then withdraws
 * and answers 503) against a closed port and against a server that accepts connections and never answers; and the
 * runtime loads kafkajs only when the transport is Kafka. What it writes to a real broker is tested in test/kafka/.
 */

let silent: net.Server;
let silentPort: number;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  silentPort = (silent.address() as net.AddressInfo).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

const queueOn = (brokers: string) => kafkaOrderQueue(loadConfig({ QUEUE_TRANSPORT: "kafka", KAFKA_BROKERS: brokers, AWS_CALL_TIMEOUT_MS: "500" }));
const order = { request_id: "r-1", user_id: "u", item_id: "sku", amount: 1, accepted_at: new Date().toISOString() };

describe("kafka adapter without a broker", () => {
  for (const [what, brokers] of [
    ["a closed port", async () => `127.0.0.1:${await freePort()}`],
    ["a server that never answers", async () => `127.0.0.1:${silentPort}`],
  ] as const) {
    it(`answers "queue unavailable" within its timeout on ${what}`, async () => {
      const queue = queueOn(await brokers());
      try {
        for (const call of [() => queue.enqueue(order, "c"), () => queue.deadLetter("{}", "why"), () => queue.check()]) {
          const started = Date.now();
          await expect(call()).rejects.toMatchObject({ name: "DependencyUnavailableError", dependency: "queue" });
          expect(Date.now() - started).toBeLessThan(2_000);
        }
      } finally {
        await queue.destroy();
      }
    });
  }

  it("is loaded by the runtime only when the transport is Kafka", () => {
    const loads = (transport: string) => {
      const probe = `
        import Module from "node:module";
        const { wire } = await import("./packages/core/src/runtime/wire.ts");
        const runtime = wire({ ...(await import("./packages/core/src/contract/environment.ts")).loadConfig({
          QUEUE_TRANSPORT: "${transport}", KAFKA_BROKERS: "127.0.0.1:1", QUEUE_URL: "http://127.0.0.1:1/q", REDIS_URL: "redis://127.0.0.1:1" }) });
        await runtime.prepare(["sqs"]);
        const loaded = Object.keys(Module._cache).some((f) => f.includes("/node_modules/kafkajs/"));
        console.log(JSON.stringify({ loaded }));
        runtime.redis.disconnect();
        process.exit(0);`;
      const out = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", probe], { encoding: "utf8", env: { ...process.env, AWS_LAMBDA_FUNCTION_NAME: "" } });
      expect(out.status, out.stderr).toBe(0);
      return JSON.parse(out.stdout.trim().split("\n").at(-1)!).loaded as boolean;
    };
    expect(loads("sqs")).toBe(false);
    expect(loads("kafka")).toBe(true);
  });
});
