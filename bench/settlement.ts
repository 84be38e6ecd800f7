/**
 * The processor's own speed, for `npm run bench` (run in its own process):
 *   node --import tsx bench/settlement.ts <orders> <batch loops>
 *
 * The orders are accepted first, through the local profile's HTTP API with its processor stopped, so they wait in
 * the queue; then the processor starts (the same QueuePoller npm start uses: <batch loops> receive loops, batches of
 * 10) and the clock runs until every unit is sold. Unlike the accepted-orders figure in run.ts, nothing else competes
 * with it and the accept rate does not bound it. The engine, fauxqs and dynalite share this process, as in npm start.
 * Prints one JSON line on stdout.
 */
import { randomUUID } from "node:crypto";
import { startLocalEngine } from "@flash/local/engine";
import { QueuePoller } from "@flash/local/queue-poller";
import { LOCAL_CREDENTIALS } from "@flash/local/stand-ins";
import { sqsClient } from "@flash/core/adapters/sqs/queue";
import { pathOf } from "@flash/core/contract/routes";
import { handler as processor } from "@flash/functions/queue/processor";

const orders = Number(process.argv[2] ?? 2000);
const loops = Number(process.argv[3] ?? 4);

// Interrupted (the bench gave up on it), it still stops what it started: no redis-server is left behind.
let stopEngine: () => Promise<void> = async () => undefined;
process.once("SIGINT", () => void stopEngine().finally(() => process.exit(130)));

const engine = await startLocalEngine({ port: 0, processorConcurrency: 0, sweepIntervalMs: 0, storefront: false, env: { RATE_LIMIT_MAX_REQUESTS: "1000000" } });
stopEngine = () => engine.stop();
try {
  const admin = { authorization: `Bearer ${engine.adminToken}`, "content-type": "application/json" };
  const item = `settle-${randomUUID().slice(0, 8)}`;
  await fetch(`${engine.url}${pathOf("setStock", { item_id: item })}`, { method: "PUT", headers: admin, body: JSON.stringify({ stock: orders, per_user_limit: 1 }) });
  const sold = async () =>
    ((await (await fetch(`${engine.url}${pathOf("getItem", { item_id: item })}`, { headers: admin })).json()) as { sold: number }).sold;

  let next = 0;
  let accepted = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < orders) {
        const i = next++;
        const res = await fetch(`${engine.url}${pathOf("buy")}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ user_id: `u-${i}`, item_id: item, amount: 1, request_id: randomUUID() }),
        });
        if (res.status === 202) accepted++;
        await res.arrayBuffer();
      }
    }),
  );

  const sqs = await sqsClient({ AWS_REGION: engine.config.AWS_REGION, AWS_ENDPOINT_URL_SQS: engine.resources.sqsEndpoint, credentials: LOCAL_CREDENTIALS });
  const started = performance.now();
  const poller = new QueuePoller({ sqs, queueUrl: engine.resources.queueUrl, handler: processor, concurrency: loops, waitTimeSeconds: 0 }).start();
  try {
    while ((await sold()) < accepted) await new Promise((r) => setTimeout(r, 20));
  } finally {
    await poller.stop();
    sqs.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ orders: accepted, loops, batches: poller.batches, seconds: +seconds.toFixed(2), settled_per_second: Math.round(accepted / seconds) }));
} finally {
  await engine.stop();
}
process.exit(0);
