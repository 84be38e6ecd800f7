import { afterAll, it } from "vitest";
import { waitFor } from "../support/fixtures";
import {
  answerOf, assertNoOrphans, buyers, BuyLog, inBatches, ops, rawHttp, runCrowd, sleep, startRig, stopAllRigs, verify,
  type Attempt,
} from "../support/faults";

// What buyers and clients do to the engine: click twice, retry while the first call is still running, send garbage.

afterAll(async () => {
  await stopAllRigs();
  assertNoOrphans();
});

const TAKEOVER_MS = 300;

it("7. Double clicks on a slow queue, and a retry taking over a stalled first call", async () => {
  const rig = await startRig({ env: { ADMISSION_TAKEOVER_MS: String(TAKEOVER_MS) } });
  try {
    const item = "sku-clicks";
    const single = "sku-last-unit";
    await rig.api.setStock(item, 20);
    await rig.api.setStock(single, 1);
    const log = new BuyLog(rig.engine.url);
    const notes: string[] = [];

    // Double clicks: two copies at once, and for every third buyer a third copy after the takeover window,
    // while each enqueue takes 600 ms.
    await rig.sqsProxy.delay(600);
    const clickers = buyers(item, 60, "clicker");
    await inBatches(clickers.map((order, i) => ({ order, third: i % 3 === 0 })), 10, async ({ order, third }) => {
      await Promise.all([
        log.buy(order, "double click"),
        log.buy(order, "double click"),
        third ? sleep(TAKEOVER_MS + 150).then(() => log.buy(order, "double click")) : undefined,
      ]);
    });
    await rig.sqsProxy.up();
    const twice = clickers.filter((o) => log.attempts.filter((a) => a.order.request_id === o.request_id && a.status === 202).length > 1);
    notes.push(`double clicks: ${twice.length} request id(s) answered 202 more than once`);

    // Takeover: the first call for the last unit stalls in enqueue; its retry comes after the takeover window and
    // goes through; then the first call's enqueue fails for good. The table is down meanwhile, so nothing settles
    // before the first call has given up.
    await rig.dynamoProxy.closed();
    await rig.sqsProxy.delay(5_000);
    const [lastUnit, nextBuyer] = buyers(single, 2, "last-unit");
    const firstCall = log.buy(lastUnit!, "takeover: first call");
    await waitFor(async () => (await rig.api.levels(single))?.in_flight === 1, 5_000, 10);
    await sleep(TAKEOVER_MS + 200);
    await rig.sqsProxy.up();
    const retry = await log.buy(lastUnit!, "takeover: retry");
    await rig.sqsProxy.closed();
    const first = await firstCall;
    await rig.sqsProxy.up();
    const next = await log.buy(nextBuyer!, "takeover: next buyer");
    await rig.dynamoProxy.up();
    notes.push(`takeover: retry ${answerOf(retry)}, first call ${answerOf(first)}, next buyer ${answerOf(next)}`);

    await verify({
      scenario: "7 double clicks and takeover",
      rig, log, loaded: { [item]: 20, [single]: 1 }, notes,
      expected: ["202", "409 duplicate_request", "410", "503"],
    });
  } finally {
    await rig.stop();
  }
}, 90_000);

it("8. Hostile input: bad percent-encoding, a client hanging up mid-body, prototype-named users; the process serves on", async () => {
  // Its own process, as `npm start` runs it: a crash shows as a dead process rather than an error in the test runner.
  const rig = await startRig({ ownProcess: true });
  try {
    const item = "sku-hostile";
    const after = "sku-after";
    await rig.api.setStock(item, 30);
    await rig.api.setStock(after, 5);
    const log = new BuyLog(rig.engine.url);
    const violations: string[] = [];
    const exited = rig.engine.exited!;

    // User ids (and request ids) that are names on Object.prototype, among the first buyers so that they get units.
    const prototypeNames = ["__proto__", "constructor", "toString", "hasOwnProperty"];
    const firstWave = buyers(item, 30, "first");
    firstWave.splice(2, 0, ...prototypeNames.map((name) => ({ user_id: name, item_id: item, amount: 1, request_id: name })));
    await runCrowd(log, firstWave, { phase: "crowd", concurrency: 4 }).done;

    // Between two waves of buyers, one bad request at a time. A crash is recorded, and the engine restarted
    // (as a supervisor would) so that the next input is still tried.
    const admin = `authorization: Bearer ${rig.engine.adminToken}\r\n`;
    const hostile: [string, string, { hangUpAfterWrite?: boolean }?][] = [
      ["GET /orders/%", "GET /orders/% HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"],
      ["GET /orders/%E0%A4%A (truncated UTF-8)", "GET /orders/%E0%A4%A HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"],
      ["GET /admin/items/% (admin token)", `GET /admin/items/% HTTP/1.1\r\nhost: x\r\n${admin}connection: close\r\n\r\n`],
      ["POST /buy hanging up mid-body", 'POST /buy HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"user_id":"half', { hangUpAfterWrite: true }],
      ["POST /buy with a truncated JSON body", 'POST /buy HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 3\r\nconnection: close\r\n\r\n{"u'],
    ];
    const crashes: string[] = [];
    for (const [name, text, options] of hostile) {
      const printedBefore = rig.engine.output!().length;
      const answer = await rawHttp(rig.engine.url, text, options);
      const fine = options?.hangUpAfterWrite ? answer === "hung up" : typeof answer === "number" && answer >= 400 && answer < 500;
      if (!fine) violations.push(`${name}: answered ${answer}; bad input must get a 4xx`);
      // Still serving? A dying process may take a moment to exit, so ask until it answers or is gone.
      const health = await waitFor(async () => {
        const h = await rig.api.health();
        return h.status === 200 ? "ok" : exited() ? `process died (${exited()})` : false;
      }, 10_000, 50).catch(() => "not serving");
      if (health !== "ok") {
        violations.push(`after ${name}: ${health}`);
        crashes.push(rig.engine.output!().slice(printedBefore).match(/^\w*Error: .*$/m)?.[0] ?? health);
        await rig.engine.restart!();
      }
    }

    await runCrowd(log, buyers(item, 30, "second"), { phase: "crowd", concurrency: 4 }).done;
    // A later buy still works and settles.
    const laterBuy = await log.buy(buyers(after, 1, "later")[0]!, "after the hostile input");
    if (laterBuy.status !== 202) violations.push(`a buy after the hostile input answered ${answerOf(laterBuy)}`);
    const prototypeAnswers = log.attempts.filter((a: Attempt) => prototypeNames.includes(a.order.user_id)).map((a) => `${a.order.user_id} ${answerOf(a)}`);

    await verify({
      scenario: "8 hostile input",
      rig, log, loaded: { [item]: 30, [after]: 5 }, violations,
      expected: ["202", "410"],
      notes: [`engine restarts ${crashes.length}${crashes.length ? ` (${[...new Set(crashes)].join("; ")})` : ""}`, prototypeAnswers.join(", ")],
      // Redis and the order records agree, prototype-named users included.
      atTheEnd: async () => {
        const found: string[] = [];
        for (const id of [item, after]) {
          const { code, out } = await ops(rig, ["reconcile", id]);
          if (code !== 0) found.push(`ops reconcile ${id} exited ${code}: ${out.replace(/\n/g, " | ").slice(0, 400)}`);
        }
        return found;
      },
    });
  } finally {
    await rig.stop();
  }
}, 120_000);
