// The flash crowd of `npm run bench -- --url`, for teams that load-test with k6 (https://k6.io). Not run in CI;
// docs/benchmarks.md, "Load-testing a running engine", says how to run it.
//
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e ADMIN_TOKEN=<the token npm start printed> bench/k6/flash-crowd.js
//
// setup     loads STOCK units of a fresh item (PUT /admin/items/{id}, bearer token), unless SKIP_SETUP=1: then ITEM
//           names an item loaded beforehand (on AWS, with the ops CLI: k6 cannot SigV4-sign the admin routes).
// scenario  a ramping arrival rate of POST /buy, each iteration a buyer of its own (user_id and request_id unique
//           to the run): RATE buys/s reached over RAMP seconds, then held for HOLD seconds, so about
//           RATE × (RAMP / 2 + HOLD) buyers in all. Keep that well above STOCK.
// teardown  waits until nothing is in flight (GET /admin/items/{id}, with ADMIN_TOKEN) and checks that exactly
//           STOCK units were sold; without ADMIN_TOKEN it can only read the public item view (stock_left 0).
// thresholds fail the run (k6 exits 99) on any 5xx, on a number of 202s other than STOCK, or on a violation found in
//           teardown.
//
// Environment (-e NAME=value): BASE_URL, ADMIN_TOKEN, STOCK (100), RATE (500), RAMP (10), HOLD (30),
// PRE_VUS (50), MAX_VUS (1000), SETTLE_TIMEOUT (60 s), SKIP_SETUP, ITEM, I_OWN_THIS_TARGET (needed for a
// host other than 127.0.0.1, localhost or [::1]).
//
// Plain ES2015+ (no optional chaining): k6's JavaScript runtime is not Node.
import http from "k6/http";
import { check, fail, sleep } from "k6";
import { Counter } from "k6/metrics";
import exec from "k6/execution";

const env = (name, fallback) => (__ENV[name] !== undefined && __ENV[name] !== "" ? __ENV[name] : fallback);
const BASE_URL = env("BASE_URL", "http://127.0.0.1:3000").replace(/\/+$/, "");
const ADMIN_TOKEN = env("ADMIN_TOKEN", "");
const STOCK = Number(env("STOCK", 100));
const RATE = Number(env("RATE", 500));
const RAMP = Number(env("RAMP", 10));
const HOLD = Number(env("HOLD", 30));
const SETTLE_TIMEOUT = Number(env("SETTLE_TIMEOUT", 60));
const SKIP_SETUP = env("SKIP_SETUP", "") === "1";
const ITEM = env("ITEM", "");
const OWNED = env("I_OWN_THIS_TARGET", "") === "1";

const JSON_HEADERS = { "content-type": "application/json" };
const ADMIN_HEADERS = { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` };

const accepted = new Counter("buy_accepted"); // 202
const soldOut = new Counter("buy_sold_out"); // 410
const serverErrors = new Counter("buy_5xx");
const violations = new Counter("invariant_violations");

// 410 (sold out), 409 (duplicate) and 429 (rate limited) are answers the crowd expects, not failed requests.
http.setResponseCallback(http.expectedStatuses(202, 409, 410, 429));

export const options = {
  scenarios: {
    flash_crowd: {
      executor: "ramping-arrival-rate",
      startRate: 0,
      timeUnit: "1s",
      preAllocatedVUs: Number(env("PRE_VUS", 50)),
      maxVUs: Number(env("MAX_VUS", 1000)),
      stages: [
        { target: RATE, duration: `${RAMP}s` },
        { target: RATE, duration: `${HOLD}s` },
      ],
    },
  },
  thresholds: {
    buy_5xx: ["count==0"],
    buy_accepted: [`count==${STOCK}`],
    invariant_violations: ["count==0"],
  },
  setupTimeout: "60s",
  teardownTimeout: `${SETTLE_TIMEOUT + 30}s`,
};

const LOOPBACK = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/i;

export function setup() {
  if (!LOOPBACK.test(BASE_URL) && !OWNED) {
    fail(`refusing to load ${BASE_URL}: not a loopback address. If it is your own stage, pass -e I_OWN_THIS_TARGET=1.`);
  }
  const run = Date.now().toString(36);
  let item = ITEM || `k6-${run}`;
  if (SKIP_SETUP) {
    if (!ITEM) fail("SKIP_SETUP=1 needs -e ITEM=<the item you loaded with STOCK units and per-user limit 1>");
  } else {
    if (!ADMIN_TOKEN) fail("ADMIN_TOKEN is needed to load the stock; against AWS load it with the ops CLI and pass -e SKIP_SETUP=1 -e ITEM=<item>");
    const r = http.put(`${BASE_URL}/admin/items/${item}`, JSON.stringify({ stock: STOCK, per_user_limit: 1 }), { headers: ADMIN_HEADERS });
    if (r.status !== 200) fail(`PUT /admin/items/${item} answered ${r.status}: ${r.body}`);
  }
  console.log(`flash crowd: ${STOCK} units of ${item} at ${BASE_URL}, up to ${RATE} buys/s`);
  return { run, item };
}

export default function (data) {
  const n = exec.scenario.iterationInTest;
  const id = `k6-${data.run}-${n}`;
  const body = JSON.stringify({ user_id: id, item_id: data.item, amount: 1, request_id: id });
  const r = http.post(`${BASE_URL}/buy`, body, { headers: JSON_HEADERS, tags: { name: "POST /buy" } });
  if (r.status === 401) {
    exec.test.abort("POST /buy answered 401: buyer identity is on for this target, and this script sends no buyer tokens");
  }
  accepted.add(r.status === 202 ? 1 : 0);
  soldOut.add(r.status === 410 ? 1 : 0);
  serverErrors.add(r.status >= 500 ? 1 : 0);
  check(r, { "buy answered 202, 409, 410 or 429": (res) => [202, 409, 410, 429].indexOf(res.status) !== -1 });
}

export function teardown(data) {
  let ok;
  if (ADMIN_TOKEN) {
    // Every 202 holds a unit in flight until the processor settles it.
    const deadline = Date.now() + SETTLE_TIMEOUT * 1000;
    let levels;
    for (;;) {
      const r = http.get(`${BASE_URL}/admin/items/${data.item}`, { headers: ADMIN_HEADERS });
      if (r.status !== 200) fail(`GET /admin/items/${data.item} answered ${r.status}: ${r.body}`);
      levels = r.json();
      if (levels.in_flight === 0 || Date.now() > deadline) break;
      sleep(0.5);
    }
    console.log(`after the crowd: stock ${levels.stock}, in_flight ${levels.in_flight}, sold ${levels.sold}`);
    ok = check(levels, {
      "exactly STOCK units sold": (l) => l.sold === STOCK && l.stock === 0,
      "nothing in flight after settlement": (l) => l.in_flight === 0,
    });
  } else {
    // The public item view shows what is left, never sold or in-flight figures.
    const r = http.get(`${BASE_URL}/items/${data.item}`);
    const view = r.status === 200 ? r.json() : { stock_left: -1 };
    console.log(`after the crowd: stock_left ${view.stock_left} (sold and in flight: npm run ops -- stock ${data.item} --stage <stage>)`);
    ok = check(view, { "no stock left": (v) => v.stock_left === 0 });
  }
  violations.add(ok ? 0 : 1);
}
