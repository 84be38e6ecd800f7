import { afterAll, it } from "vitest";
import { waitFor } from "../support/fixtures";
import {
  answerOf, assertNoOrphans, buyers, BuyLog, CLIENT_TIMEOUT_MS, runCrowd, scanOrders, startRig, stopAllRigs, verify, whenAccepted,
} from "../support/faults";

// The orders queue refusing connections, then accepting them and never answering.

afterAll(async () => {
  await stopAllRigs();
  assertNoOrphans();
});

it("6. Queue down during enqueue, then back; then a silent queue: buys answer 503 and leave nothing behind", async () => {
  const rig = await startRig();
  try {
    const item = "sku-queue";
    await rig.api.setStock(item, 40);
    const log = new BuyLog(rig.engine.url);
    const levels = async () => (await rig.api.levels(item))!;

    // Refused: connection refused mid-crowd, then the queue comes back and the next buyers are served.
    const crowd = runCrowd(log, buyers(item, 100, "refused"), { phase: "queue refusing", concurrency: 8 });
    await whenAccepted(log, crowd, "queue refusing", 5);
    await rig.sqsProxy.closed();
    await crowd.done;
    await rig.sqsProxy.up();
    await runCrowd(log, buyers(item, 10, "back"), { phase: "queue back", concurrency: 5 }).done;
    await waitFor(async () => (await levels()).in_flight === 0, 20_000);

    // Silent: every buy must give up with a 503 (buyers wait up to 35 s), holding nothing.
    await rig.sqsProxy.silent();
    const silent = buyers(item, 6, "silent");
    await Promise.all(silent.map((order) => log.buy(order, "queue silent", CLIENT_TIMEOUT_MS)));
    const violations: string[] = [];
    const answers = log.inPhase("queue silent");
    const not503 = answers.filter((a) => a.status !== 503);
    if (not503.length) violations.push(`silent queue: ${not503.length} of ${answers.length} buys not answered 503: ${not503.map((a) => `${a.order.request_id} (${answerOf(a)} after ${a.ms} ms)`).join(", ")}`);
    // Checked while the queue is still silent: what a 503 (or a give-up) left behind.
    const held = (await levels()).in_flight;
    if (held !== 0) violations.push(`silent queue: ${held} unit(s) held after every buy was answered or timed out: ${(await rig.redis.holds(item)).join(", ")}`);
    const table = await scanOrders(rig);
    const recorded: string[] = [];
    for (const order of silent) {
      const r = await rig.api.order(order.request_id);
      if (r.status !== 404 || table.has(order.request_id)) recorded.push(`${order.request_id} (GET /orders: ${r.status} ${r.body?.status ?? ""})`);
    }
    if (recorded.length) violations.push(`silent queue: ${recorded.length} request(s) left an order behind: ${recorded.join(", ")}`);
    await rig.sqsProxy.up();

    await verify({ scenario: "6 queue refused, then silent", rig, log, loaded: { [item]: 40 }, violations, expected: ["202", "410", "503"] });
  } finally {
    await rig.stop();
  }
}, 150_000);
