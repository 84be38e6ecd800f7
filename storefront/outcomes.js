// The storefront's words: what an answer of the engine, an order's status or an item's view means to a buyer.
// Pure functions (no DOM, no fetch), so that the unit tests run them in Node and the page runs the same code.

/** The statuses an order ends in (packages/core/src/domain/order.ts). */
export const FINAL_STATUSES = ["COMPLETED", "FAILED_SOLD_OUT", "FAILED_LIMIT", "FAILED_PAYMENT", "FAILED_EXPIRED"];

/**
 * @typedef {object} Outcome
 * @property {string} kind      one word: completed, sold_out, limit_reached, payment_declined, expired, rate_limited,
 *                              not_started, sale_ended, unavailable, accepted, unknown_item, sign_in, rejected, failed
 * @property {"ok" | "info" | "warn" | "error"} tone
 * @property {string} text      what the page shows, in words
 * @property {boolean} final    the attempt is over: the next click is a new order (a new request_id). When false, the
 *                              next click retries the same request_id, so a retry can never become a second order.
 * @property {string} [follow]  the order's status URL, to poll until the order is final
 * @property {number} [waitSeconds]  how long the Buy button stays off (Retry-After)
 */

/** Seconds from a Retry-After header (seconds or an HTTP date), or from a body field; at least 1. */
export function retryAfterSeconds(header, fallback, nowMs = Date.now()) {
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(1, Math.ceil((date - nowMs) / 1000));
  }
  const n = Number(fallback);
  return Number.isFinite(n) && n > 0 ? Math.ceil(n) : 1;
}

/** "0:05", "12:00", "1:02:03", "2 d 03:04:05": the time left, never negative. */
export function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3_600);
  const m = Math.floor((total % 3_600) / 60);
  const s = total % 60;
  const pad = (n) => String(n).padStart(2, "0");
  if (d > 0) return `${d} d ${pad(h)}:${pad(m)}:${pad(s)}`;
  if (h > 0) return `${h}:${pad(m)}:${pad(s)}`;
  return `${m}:${pad(s)}`;
}

/** An ISO 8601 instant as the buyer's local date and time; the text itself when it does not parse. */
export function formatTime(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return String(iso);
  return new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

const short = (requestId) => String(requestId ?? "").slice(0, 8);

/**
 * What the answer to POST /buy means.
 * @param {{ status: number, body?: any, retryAfter?: string | null, nowMs?: number }} answer
 * @returns {Outcome}
 */
export function describeAnswer({ status, body, retryAfter, nowMs = Date.now() }) {
  const b = body && typeof body === "object" ? body : {};
  const error = typeof b.error === "string" ? b.error : undefined;
  if (status === 202) {
    return { kind: "accepted", tone: "info", text: "Order placed: waiting for payment…", final: false, follow: b.status_url };
  }
  if (status === 409 && error === "duplicate_request") {
    // The same request_id was accepted before (a retry after a lost answer): follow that order.
    return { kind: "accepted", tone: "info", text: "Order already placed: checking its status…", final: false, follow: b.status_url };
  }
  if (status === 409 && error === "purchase_limit_exceeded") {
    return { kind: "limit_reached", tone: "warn", text: "Limit reached: you already have as many of this item as one buyer may take.", final: true };
  }
  if (status === 409 && error === "sale_not_started") {
    const wait = retryAfterSeconds(retryAfter, b.retry_after_seconds, nowMs);
    const when = b.starts_at ? ` It opens at ${formatTime(b.starts_at)}` : " It opens soon";
    return { kind: "not_started", tone: "info", text: `Not started yet.${when} (in ${formatCountdown(wait * 1000)}).`, final: false, waitSeconds: wait };
  }
  if (status === 410 && error === "sale_ended") {
    return { kind: "sale_ended", tone: "warn", text: "Sale ended.", final: true };
  }
  if (status === 410) return { kind: "sold_out", tone: "warn", text: "Sold out.", final: true };
  if (status === 429) {
    const wait = retryAfterSeconds(retryAfter, b.retry_after_seconds, nowMs);
    return { kind: "rate_limited", tone: "warn", text: `Rate limited: too many tries. Try again in ${wait} s.`, final: false, waitSeconds: wait };
  }
  if (status === 503) {
    const wait = retryAfterSeconds(retryAfter, undefined, nowMs);
    return {
      kind: "unavailable",
      tone: "error",
      text: `Unavailable: the shop cannot take orders right now, nothing was ordered. Try again in ${wait} s.`,
      final: false,
      waitSeconds: wait,
    };
  }
  if (status === 404 && error === "unknown_item") {
    return { kind: "unknown_item", tone: "error", text: "Not on sale: there is no such item.", final: true };
  }
  if (status === 401 || status === 403) {
    return { kind: "sign_in", tone: "warn", text: "Sign in first (or again: your sign-in has expired).", final: false };
  }
  if (status === 400 || status === 413) {
    const fields = Array.isArray(b.errors) ? b.errors.map((e) => `${e.field} ${e.message}`).join("; ") : error ?? "bad request";
    return { kind: "rejected", tone: "error", text: `Rejected: ${fields}.`, final: true };
  }
  if (status === 422) {
    return { kind: "rejected", tone: "error", text: "Rejected: this order's id was used for another order. Try again.", final: true };
  }
  return { kind: "failed", tone: "error", text: `Something went wrong (HTTP ${status}). Try again: it is the same order.`, final: false };
}

/**
 * What an order's status (GET /orders/{request_id}) means; undefined while it is still PENDING.
 * @returns {Outcome | undefined}
 */
export function describeOrder(order) {
  const id = short(order?.request_id);
  switch (order?.status) {
    case "COMPLETED":
      return { kind: "completed", tone: "ok", text: `Completed: it is yours (order ${id}).`, final: true };
    case "FAILED_SOLD_OUT":
      return { kind: "sold_out", tone: "warn", text: `Sold out: the last unit went before your order was settled (order ${id}, nothing charged).`, final: true };
    case "FAILED_LIMIT":
      return { kind: "limit_reached", tone: "warn", text: `Limit reached: you already have as many of this item as one buyer may take (order ${id}).`, final: true };
    case "FAILED_PAYMENT":
      return { kind: "payment_declined", tone: "error", text: `Payment declined (order ${id}): nothing was charged, the unit went back on sale.`, final: true };
    case "FAILED_EXPIRED":
      return { kind: "expired", tone: "error", text: `Not completed: the order could not be settled in time (order ${id}); any charge is refunded.`, final: true };
    default:
      return undefined;
  }
}

/** The fetch failed before any answer (offline, DNS, CORS): the same request_id is retried by the next click. */
export function describeNetworkError(apiUrl) {
  const where = apiUrl ? ` at ${apiUrl}` : "";
  return { kind: "unavailable", tone: "error", text: `Unavailable: the shop${where} cannot be reached. Try again: it is the same order.`, final: false };
}

/**
 * How an item card looks now, from its public view (GET /items/{item_id}) and the clock.
 * @param {{ stock_left?: number, starts_at?: string | null, ends_at?: string | null, state?: string } | undefined} view
 * @returns {{ state: string, badge: string, countdown: string, when: string, stock: string, buyable: boolean }}
 */
export function describeItem(view, nowMs = Date.now()) {
  if (!view) return { state: "unknown", badge: "", countdown: "", when: "", stock: "", buyable: true };
  const starts = view.starts_at ? Date.parse(view.starts_at) : NaN;
  const ends = view.ends_at ? Date.parse(view.ends_at) : NaN;
  const stock = typeof view.stock_left === "number" ? `${view.stock_left} left` : "";
  let state = view.state ?? "live";
  // The view may be a second old: the clock moves an upcoming sale to live, and a live one to ended.
  if (state === "upcoming" && Number.isFinite(starts) && starts <= nowMs) state = "live";
  if ((state === "live" || state === "sold_out") && Number.isFinite(ends) && ends <= nowMs) state = "ended";
  switch (state) {
    case "upcoming":
      return {
        state,
        badge: "Upcoming",
        countdown: Number.isFinite(starts) ? `Starts in ${formatCountdown(starts - nowMs)}` : "Starts soon",
        when: Number.isFinite(starts) ? `Opens ${formatTime(view.starts_at)}` : "",
        stock,
        buyable: false,
      };
    case "live":
      return {
        state,
        badge: "On sale",
        countdown: Number.isFinite(ends) ? `Ends in ${formatCountdown(ends - nowMs)}` : "",
        when: "",
        stock,
        buyable: true,
      };
    case "sold_out":
      return { state, badge: "Sold out", countdown: "", when: "", stock, buyable: false };
    case "ended":
      return { state, badge: "Sale ended", countdown: "", when: "", stock: "", buyable: false };
    default:
      return { state, badge: "", countdown: "", when: "", stock, buyable: true };
  }
}

/** The items a page shows: `?items=a,b` first, else the configured list; valid ids only, each once, at most 20. */
export function itemsToShow(search, configured) {
  const fromQuery = new URLSearchParams(search).get("items");
  const raw = fromQuery !== null ? fromQuery.split(",") : configured;
  const ids = raw.map((s) => String(s).trim()).filter((s) => /^[A-Za-z0-9_-]{1,100}$/.test(s));
  return [...new Set(ids)].slice(0, 20);
}

/**
 * The page's settings from the config the server puts in /config.js. On AWS the stack replaces the `{{ ... }}`
 * placeholders at deploy time; a placeholder left in place means "not set".
 */
export function readConfig(raw) {
  const unset = (v) => typeof v !== "string" || v.trim() === "" || v.startsWith("{{");
  const r = raw && typeof raw === "object" ? raw : {};
  const items = Array.isArray(r.items) ? r.items : unset(r.items) ? [] : r.items.split(",");
  return {
    apiUrl: unset(r.apiUrl) ? "" : r.apiUrl.trim().replace(/\/+$/, ""),
    auth: r.auth === true || r.auth === "true",
    items: items.length ? items : ["sku-1"],
  };
}
