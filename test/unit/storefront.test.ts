import { describe, expect, it } from "vitest";
import {
  describeAnswer,
  describeItem,
  describeOrder,
  formatCountdown,
  itemsToShow,
  readConfig,
  retryAfterSeconds,
} from "../../storefront/outcomes.js";
import { Order } from "@flash/core/domain/order";

// The storefront's words (storefront/outcomes.js), the module the page itself runs: every answer of POST /buy and
// every final order status a buyer can meet, in words; whether the next click is a new order or the same one.

const NOW = Date.parse("2030-06-01T12:00:00Z");

describe("the answer to POST /buy, in words", () => {
  it("follows an accepted order (and a duplicate of one) to its status URL, keeping the request", () => {
    const accepted = describeAnswer({ status: 202, body: { request_id: "r", status: "PENDING", status_url: "/orders/r" } });
    expect(accepted).toMatchObject({ kind: "accepted", follow: "/orders/r", final: false });
    const duplicate = describeAnswer({ status: 409, body: { error: "duplicate_request", status: "PENDING", status_url: "/orders/r" } });
    expect(duplicate).toMatchObject({ kind: "accepted", follow: "/orders/r", final: false });
  });

  it("says sold out, limit reached and sale ended, and ends the attempt", () => {
    expect(describeAnswer({ status: 410, body: { error: "sold_out" } })).toMatchObject({ kind: "sold_out", text: "Sold out.", final: true });
    expect(describeAnswer({ status: 409, body: { error: "purchase_limit_exceeded" } })).toMatchObject({
      kind: "limit_reached",
      text: expect.stringMatching(/^Limit reached: /),
      final: true,
    });
    expect(describeAnswer({ status: 410, body: { error: "sale_ended" } })).toMatchObject({ kind: "sale_ended", text: "Sale ended.", final: true });
    expect(describeAnswer({ status: 404, body: { error: "unknown_item" } })).toMatchObject({ kind: "unknown_item", final: true });
  });

  it("says rate limited with the wait, from Retry-After or the body, and keeps the request for the retry", () => {
    const limited = describeAnswer({ status: 429, body: { error: "rate_limited", retry_after_seconds: 7 }, retryAfter: "12" });
    expect(limited).toEqual({ kind: "rate_limited", tone: "warn", text: "Rate limited: too many tries. Try again in 12 s.", final: false, waitSeconds: 12 });
    // a cross-origin page that cannot read the header still has the body's number
    expect(describeAnswer({ status: 429, body: { error: "rate_limited", retry_after_seconds: 7 }, retryAfter: null })).toMatchObject({ waitSeconds: 7 });
  });

  it("says not started yet with the start time and the wait (409 sale_not_started + Retry-After)", () => {
    const startsAt = new Date(NOW + 90_000).toISOString();
    const early = describeAnswer({ status: 409, body: { error: "sale_not_started", starts_at: startsAt }, retryAfter: "90", nowMs: NOW });
    expect(early).toMatchObject({ kind: "not_started", final: false, waitSeconds: 90 });
    expect(early.text).toMatch(/^Not started yet\. It opens at .+ \(in 1:30\)\.$/);
    expect(early.text).toContain(new Date(startsAt).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }));
  });

  it("says unavailable on a 503, with the wait, and keeps the request: nothing was recorded", () => {
    const down = describeAnswer({ status: 503, body: { error: "unavailable", dependency: "queue" }, retryAfter: "30" });
    expect(down).toMatchObject({ kind: "unavailable", tone: "error", final: false, waitSeconds: 30 });
    expect(down.text).toBe("Unavailable: the shop cannot take orders right now, nothing was ordered. Try again in 30 s.");
  });

  it("asks to sign in on 401/403, names the fields of a 400, and keeps the request on anything unexpected", () => {
    expect(describeAnswer({ status: 401, body: {} })).toMatchObject({ kind: "sign_in", final: false });
    const invalid = describeAnswer({ status: 400, body: { error: "validation_failed", errors: [{ field: "user_id", message: "is required" }] } });
    expect(invalid).toMatchObject({ kind: "rejected", text: "Rejected: user_id is required.", final: true });
    expect(describeAnswer({ status: 500, body: { message: "Internal Server Error" } })).toMatchObject({ kind: "failed", final: false });
  });
});

describe("an order's final status, in words", () => {
  it("has words for every final status and none for PENDING", () => {
    const words: Record<string, RegExp> = {
      COMPLETED: /^Completed: it is yours \(order 12345678\)\.$/,
      FAILED_SOLD_OUT: /^Sold out: /,
      FAILED_LIMIT: /^Limit reached: /,
      FAILED_PAYMENT: /^Payment declined \(order 12345678\): nothing was charged/,
      FAILED_EXPIRED: /^Not completed: /,
    };
    expect(Object.keys(words).sort()).toEqual([...Order.FINAL_STATUSES].sort());
    for (const status of Order.FINAL_STATUSES) {
      const outcome = describeOrder({ request_id: "12345678-aaaa", status });
      expect(outcome?.text, status).toMatch(words[status]!);
      expect(outcome?.final).toBe(true);
    }
    expect(describeOrder({ request_id: "r", status: "PENDING" })).toBeUndefined();
  });
});

describe("an item card", () => {
  const at = (ms: number) => new Date(NOW + ms).toISOString();

  it("counts down to an upcoming sale and turns live when the clock gets there", () => {
    const view = { item_id: "sku-1", stock_left: 5, starts_at: at(65_000), ends_at: at(3_600_000), state: "upcoming" };
    expect(describeItem(view, NOW)).toMatchObject({ state: "upcoming", badge: "Upcoming", buyable: false, stock: "5 left" });
    expect(describeItem(view, NOW).countdown).toBe("Starts in 1:05");
    expect(describeItem(view, NOW).when).toBe(`Opens ${new Date(NOW + 65_000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })}`);
    expect(describeItem(view, NOW + 65_000)).toMatchObject({ state: "live", badge: "On sale", buyable: true, countdown: "Ends in 58:55" });
  });

  it("shows sold out and sale ended without a Buy, and a card without a view stays buyable", () => {
    expect(describeItem({ stock_left: 0, state: "sold_out" }, NOW)).toMatchObject({ badge: "Sold out", buyable: false });
    expect(describeItem({ stock_left: 3, state: "ended" }, NOW)).toMatchObject({ badge: "Sale ended", buyable: false });
    expect(describeItem({ stock_left: 3, state: "live", ends_at: at(-1) }, NOW)).toMatchObject({ state: "ended", buyable: false });
    expect(describeItem(undefined, NOW)).toMatchObject({ badge: "", buyable: true });
  });

  it("formats countdowns and waits", () => {
    expect(formatCountdown(4_200)).toBe("0:05");
    expect(formatCountdown(-5)).toBe("0:00");
    expect(formatCountdown(3_723_000)).toBe("1:02:03");
    expect(formatCountdown(2 * 86_400_000 + 3_723_000)).toBe("2 d 01:02:03");
    expect(retryAfterSeconds("3", undefined)).toBe(3);
    expect(retryAfterSeconds(new Date(NOW + 10_000).toUTCString(), undefined, NOW)).toBe(10);
    expect(retryAfterSeconds(null, undefined)).toBe(1);
  });
});

describe("the page's settings", () => {
  it("shows the items named in the address, else the configured ones; valid ids only, each once", () => {
    expect(itemsToShow("?items=sku-1,sku-2,sku-1, bad id ,sku-3", ["x"])).toEqual(["sku-1", "sku-2", "sku-3"]);
    expect(itemsToShow("", ["sku-9"])).toEqual(["sku-9"]);
  });

  it("reads the deployed config.js, treating a placeholder left in place as unset", () => {
    expect(readConfig({ apiUrl: "https://abc.execute-api.us-east-1.amazonaws.com/", auth: "false", items: "sku-1,sku-2" })).toEqual({
      apiUrl: "https://abc.execute-api.us-east-1.amazonaws.com",
      auth: false,
      items: ["sku-1", "sku-2"],
    });
    expect(readConfig({ apiUrl: "{{ API_URL }}", auth: "{{ STOREFRONT_AUTH }}", items: "{{ STOREFRONT_ITEMS }}" })).toEqual({ apiUrl: "", auth: false, items: ["sku-1"] });
    expect(readConfig({ apiUrl: "", auth: true, items: ["a"] })).toEqual({ apiUrl: "", auth: true, items: ["a"] });
    expect(readConfig(undefined)).toEqual({ apiUrl: "", auth: false, items: ["sku-1"] });
  });
});
