import { afterAll, it } from "vitest";
import {
  assertNoOrphans, buyers, BuyLog, runCrowd, scanOrders, sleep, startExtraProcessor, startRig, stopAllRigs, verify, whenAccepted,
} from "../support/faults";

// DynamoDB faults: the orders table unreachable while orders settle, and while the sweeper expires them.

afterAll(async () => {
  await stopAllRigs();
  assertNoOrphans();
});

it("4. DynamoDB down (connection refused) during settlement, then back", async () => {
  const rig = await startRig();
  try {
    const item = "sku-table-down";
    await rig.api.setStock(item, 30);
    const log = new BuyLog(rig.engine.url);
    const crowd = runCrowd(log, buyers(item, 300, "settle"), { phase: "crowd", concurrency: 8 });
    await whenAccepted(log, crowd, "crowd", 5);
    await rig.dynamoProxy.closed();
    // Longer than maxReceiveCount (3) x visibility timeout (1 s): some orders reach the DLQ.
    await sleep(3_500);
    await rig.dynamoProxy.up();
    await crowd.done;
    await verify({ scenario: "4 dynamodb down during settlement", rig, log, loaded: { [item]: 30 } });
  } finally {
    await rig.stop();
  }
}, 90_000);

it("5. DynamoDB down during a sweep of expired holds (processor stopped), then back: no order stays PENDING", async () => {
  const TTL_SECONDS = 2;
  // A queue that keeps messages TTL_SECONDS only (as far as the sweeper is told): once that passes, no message is
  // left that could deliver these orders, so the sweeper must expire them. (A mere backlog is never expired.)
  const rig = await startRig({
    processorConcurrency: 0,
    // The buy calls end in milliseconds: after 1 s the sweeper hands their admissions to the queue's side.
    env: { RESERVATION_TTL_SECONDS: String(TTL_SECONDS), QUEUE_RETENTION_SECONDS: String(TTL_SECONDS), ADMISSION_TAKEOVER_MS: "1000" },
  });
  let extraProcessor: { stop(): Promise<void> } | undefined;
  try {
    const item = "sku-sweep";
    await rig.api.setStock(item, 30);
    const log = new BuyLog(rig.engine.url);
    // Nobody settles: every accepted order holds its unit until its message is past delivery and the sweeper expires it.
    await runCrowd(log, buyers(item, 100, "held"), { phase: "crowd", concurrency: 8 }).done;
    const accepted = log.attempts.filter((a) => a.status === 202).map((a) => a.order.request_id);
    await sleep(TTL_SECONDS * 1000 + 500); // the holds outlive the queue's retention

    await rig.dynamoProxy.closed();
    const first = await rig.engine.sweep!().then((n) => `expired ${n}`, (err: Error) => `failed: ${err.message.slice(0, 80)}`);
    await rig.dynamoProxy.up();
    // "Sweep again": a few runs at most, until one finds nothing left to do.
    const later: string[] = [];
    for (let run = 0; run < 3; run++) {
      const result = await rig.engine.sweep!().then((n) => n, (err: Error) => err);
      later.push(result instanceof Error ? `failed: ${result.message.slice(0, 80)}` : `expired ${result}`);
      if (result === 0) break;
    }

    const violations: string[] = [];
    const table = await scanOrders(rig);
    const pending: string[] = [];
    for (const rid of accepted) {
      const status = (await rig.api.order(rid)).body?.status;
      if (status === "PENDING" || !table.has(rid)) pending.push(`${rid} (GET /orders: ${status ?? "?"}, table: ${table.get(rid)?.status ?? "no record"})`);
    }
    if (pending.length) violations.push(`after the sweeps, ${pending.length} of ${accepted.length} held orders have no final status: ${pending.slice(0, 10).join(", ")}`);
    const levels = (await rig.api.levels(item))!;
    if (levels.in_flight !== 0) violations.push(`after the sweeps, ${levels.in_flight} unit(s) still in flight`);

    // Now the processor runs: the late messages must take nothing.
    extraProcessor = startExtraProcessor(rig);
    await verify({
      scenario: "5 dynamodb down during a sweep",
      rig, log, loaded: { [item]: 30 }, violations,
      notes: [`sweep with the table down: ${first}`, `then: ${later.join(", ")}`],
    });
  } finally {
    await extraProcessor?.stop();
    await rig.stop();
  }
}, 90_000);
