// The storefront: item cards that read GET /items/{item_id}, a Buy button that POSTs /buy and follows the order's
// status_url until it is final. No framework: the DOM, fetch and the words in outcomes.js.
import { describeAnswer, describeItem, describeNetworkError, describeOrder, itemsToShow, readConfig } from "./outcomes.js";

const config = readConfig(window.STOREFRONT_CONFIG);
const api = (path) => (/^https?:\/\//.test(path) ? path : `${config.apiUrl}${path}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const USER_ID = /^[A-Za-z0-9_-]{1,100}$/;

/** How often a card re-reads its item view (the view allows a 1 s cache); sooner when a countdown ends. */
const REFRESH_MS = 5_000;
/** How long a card follows an accepted order before it says it is still processing. */
const FOLLOW_MS = 120_000;

// ---- identity ------------------------------------------------------------------------------------------------

/**
 * A token for `user` from the local dev issuer (AUTH_DEV_ISSUER=1): `POST /.well-known/dev-token {"user_id"}` →
 * `{"token"}`. The one place the page learns a token; another issuer replaces this function only.
 */
export async function getToken(user) {
  const res = await fetch(api("/.well-known/dev-token"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id: user }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || typeof body.token !== "string") throw new Error(body.message ?? body.error ?? `HTTP ${res.status}`);
  return body.token;
}

const identity = {
  user: "",
  token: /** @type {string | undefined} */ (undefined),
  headers() {
    return config.auth && this.token ? { authorization: `Bearer ${this.token}` } : {};
  },
  /** The engine refused the token (expired, or another issuer's): sign in again. */
  signOut() {
    this.token = undefined;
    const status = document.getElementById("identity");
    if (status) status.textContent = "Sign in again.";
  },
};

function setUpIdentity() {
  const form = /** @type {HTMLFormElement} */ (document.getElementById("buyer"));
  const input = /** @type {HTMLInputElement} */ (document.getElementById("user"));
  const signIn = /** @type {HTMLButtonElement} */ (document.getElementById("sign-in"));
  const status = /** @type {HTMLElement} */ (document.getElementById("identity"));
  const saved = localStorage.getItem("storefront.user");
  identity.user = saved && USER_ID.test(saved) ? saved : `guest-${crypto.randomUUID().slice(0, 6)}`;
  input.value = identity.user;
  signIn.hidden = !config.auth;
  status.textContent = config.auth ? "Sign in to buy." : "";

  input.addEventListener("input", () => {
    const value = input.value.trim();
    if (value === identity.user) return;
    identity.user = value;
    if (identity.token) {
      identity.token = undefined;
      status.textContent = "Sign in to buy.";
    }
    if (USER_ID.test(value)) localStorage.setItem("storefront.user", value);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!config.auth) return;
    if (!USER_ID.test(identity.user)) {
      status.textContent = "A name is 1–100 letters, digits, _ or -.";
      return;
    }
    signIn.disabled = true;
    status.textContent = "Signing in…";
    try {
      identity.token = await getToken(identity.user);
      status.textContent = `Signed in as ${identity.user}.`;
    } catch (err) {
      identity.token = undefined;
      status.textContent = `Could not sign in: ${err instanceof Error ? err.message : err}.`;
    } finally {
      signIn.disabled = false;
    }
  });
}

// ---- an item card --------------------------------------------------------------------------------------------

class ItemCard {
  /** @param {string} itemId @param {HTMLElement} root */
  constructor(itemId, root) {
    this.itemId = itemId;
    this.root = root;
    this.el = (/** @type {string} */ role) => /** @type {HTMLElement} */ (root.querySelector(`[data-role="${role}"]`));
    this.button = /** @type {HTMLButtonElement} */ (this.el("buy"));
    /** The item's public view; undefined until read, or when the engine has no item view. */
    this.view = undefined;
    this.viewNote = "";
    /** The request_id of the order being attempted: kept across retries until an answer is final. */
    this.requestId = /** @type {string | undefined} */ (undefined);
    /** The attempt in flight: a second click (a double click) joins it instead of sending another order. */
    this.attempt = /** @type {Promise<void> | undefined} */ (undefined);
    this.blockedUntil = 0;
    this.refreshing = /** @type {Promise<void> | undefined} */ (undefined);
    this.refreshedAt = 0;
    root.dataset.itemId = itemId;
    this.el("name").textContent = itemId;
    this.button.addEventListener("click", () => void this.buy());
  }

  /**
   * Read GET /items/{item_id}. A 404 that is not `unknown_item` means this engine has no item view (yet).
   * @param {boolean} fresh past the view's 1 s cache: after a buy, or when a countdown ends
   */
  refresh(fresh = false) {
    return (this.refreshing ??= (async () => {
      try {
        const res = await fetch(api(`/items/${encodeURIComponent(this.itemId)}`), { cache: fresh ? "no-cache" : "default" });
        const body = await res.json().catch(() => ({}));
        if (res.ok) {
          this.view = body;
          this.viewNote = "";
        } else if (res.status === 404 && body.error === "unknown_item") {
          this.view = { state: "unknown_item" };
          this.viewNote = "";
        } else if (res.status === 404) {
          this.view = undefined;
          this.viewNote = "";
        } else {
          this.viewNote = "(stock and schedule may be out of date)";
        }
      } catch {
        this.viewNote = "(stock and schedule may be out of date)";
      } finally {
        this.refreshedAt = Date.now();
        this.refreshing = undefined;
        this.render();
      }
    })());
  }

  /** Redraw from the view and the clock; called on every tick. */
  render(now = Date.now()) {
    const view = this.view?.state === "unknown_item" ? undefined : this.view;
    const item = describeItem(view, now);
    if (this.view?.state === "unknown_item") Object.assign(item, { state: "unknown_item", badge: "Not on sale", buyable: false });
    this.root.dataset.state = item.state;
    this.el("state").textContent = item.badge;
    this.el("countdown").textContent = item.countdown;
    this.el("when").textContent = item.when;
    this.el("stock").textContent = [item.stock, this.viewNote].filter(Boolean).join(" ");
    const waiting = this.blockedUntil > now;
    this.button.disabled = !item.buyable || this.attempt !== undefined || waiting;
    this.button.textContent = this.attempt ? "Buying…" : waiting ? `Buy (in ${Math.ceil((this.blockedUntil - now) / 1000)} s)` : "Buy";
    // A countdown that just ended, or a view that is getting old: read it again.
    const opened = this.view?.state === "upcoming" && item.state === "live";
    if (now - this.refreshedAt > (opened ? 1_000 : REFRESH_MS)) void this.refresh(opened);
  }

  /** @param {{ tone: string, text: string, kind: string }} outcome */
  show(outcome) {
    const el = this.el("outcome");
    el.textContent = outcome.text;
    el.dataset.tone = outcome.tone;
    el.dataset.kind = outcome.kind;
  }

  buy() {
    if (this.attempt) return this.attempt; // a double click is the same order
    if (!USER_ID.test(identity.user)) {
      this.show({ kind: "rejected", tone: "warn", text: "Enter your name above first (1–100 letters, digits, _ or -)." });
      return Promise.resolve();
    }
    if (config.auth && !identity.token) {
      this.show({ kind: "sign_in", tone: "warn", text: "Sign in first." });
      return Promise.resolve();
    }
    this.requestId ??= crypto.randomUUID();
    this.attempt = this.place(this.requestId).finally(() => {
      this.attempt = undefined;
      this.render();
    });
    this.render();
    return this.attempt;
  }

  /** @param {string} requestId */
  async place(requestId) {
    this.show({ kind: "pending", tone: "info", text: "Placing your order…" });
    let res;
    try {
      res = await fetch(api("/buy"), {
        method: "POST",
        headers: { "content-type": "application/json", ...identity.headers() },
        body: JSON.stringify({ user_id: identity.user, item_id: this.itemId, amount: 1, request_id: requestId }),
      });
    } catch {
      this.show(describeNetworkError(config.apiUrl)); // the next click retries the same request_id
      return;
    }
    const body = await res.json().catch(() => ({}));
    const outcome = describeAnswer({ status: res.status, body, retryAfter: res.headers.get("retry-after") });
    if (outcome.kind === "sign_in" && identity.token) identity.signOut();
    if (outcome.follow) return this.follow(requestId, outcome.follow, outcome);
    this.conclude(outcome);
  }

  /** Poll the order's status until it is final. */
  async follow(requestId, statusUrl, accepted) {
    this.show(accepted);
    const deadline = Date.now() + FOLLOW_MS;
    for (let delay = 200; Date.now() < deadline; delay = Math.min(delay * 1.5, 2_000)) {
      await sleep(delay);
      let order;
      try {
        const res = await fetch(api(statusUrl), { headers: identity.headers(), cache: "no-store" });
        if (!res.ok) continue; // 404 for a moment, 503: ask again
        order = await res.json();
      } catch {
        continue;
      }
      const outcome = describeOrder(order);
      if (outcome) return this.conclude(outcome);
    }
    // Still PENDING: the order stands. The next click asks about the same request_id (409 duplicate → follows it).
    this.show({ kind: "pending", tone: "info", text: `Still processing (order ${requestId.slice(0, 8)}). Click Buy to check again.` });
  }

  /** @param {import("./outcomes.js").Outcome} outcome */
  conclude(outcome) {
    this.show(outcome);
    if (outcome.final) this.requestId = undefined;
    if (outcome.waitSeconds) this.blockedUntil = Date.now() + outcome.waitSeconds * 1000;
    void this.refresh(true); // stock left, sold out, ...
  }
}

// ---- the page ------------------------------------------------------------------------------------------------

function main() {
  setUpIdentity();
  const list = /** @type {HTMLElement} */ (document.getElementById("items"));
  const template = /** @type {HTMLTemplateElement} */ (document.getElementById("item-card"));
  const ids = itemsToShow(location.search, config.items);
  if (ids.length === 0) {
    list.textContent = "No items to show: add ?items=sku-1,sku-2 to the address.";
    return;
  }
  const cards = ids.map((id) => {
    const root = /** @type {HTMLElement} */ (template.content.firstElementChild.cloneNode(true));
    list.append(root);
    return new ItemCard(id, root);
  });
  for (const card of cards) void card.refresh();
  setInterval(() => {
    if (document.hidden) return;
    const now = Date.now();
    for (const card of cards) card.render(now);
  }, 250);
  document.body.dataset.ready = "true";
}

main();
