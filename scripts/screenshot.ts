// npm run screenshot: docs/img/storefront.png, the storefront in headless Chromium against the local engine, after a
// few real orders (completed, sold out, limit reached; and a countdown when the engine has sale windows).
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./chromium";

process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
const { startLocalEngine } = await import("@flash/local/engine");

const out = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "img", "storefront.png");
const engine = await startLocalEngine({ port: 0, sweepIntervalMs: 0 });
const browser = await launchChromium();
try {
  const admin = { authorization: `Bearer ${engine.adminToken}`, "content-type": "application/json" };
  const put = (item: string, body: object) => fetch(`${engine.url}/admin/items/${item}`, { method: "PUT", headers: admin, body: JSON.stringify(body) });
  await put("sneaker-red", { stock: 100, per_user_limit: 1 });
  await put("sneaker-blue", { stock: 25, per_user_limit: 2 });
  await put("hoodie", { stock: 1, per_user_limit: 1 });
  // With sale windows (another branch), the fourth card counts down; without them it is on sale like the others.
  const startsAt = new Date(Date.now() + 2 * 3_600_000 + 754_000).toISOString();
  await put("cap", { stock: 50, per_user_limit: 1, starts_at: startsAt });

  // Someone else buys the last hoodie first.
  await fetch(`${engine.url}/buy`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id: "early-bird", item_id: "hoodie", amount: 1, request_id: crypto.randomUUID() }),
  });

  const page = await (await browser.newContext({ viewport: { width: 1000, height: 470 } })).newPage();
  await page.goto(`${engine.url}/?items=sneaker-red,sneaker-blue,hoodie,cap`);
  await page.locator("body[data-ready=true]").waitFor();
  await page.fill("#user", "alice");
  const card = (item: string) => page.locator(`article[data-item-id="${item}"]`);
  const buy = async (item: string, outcome: RegExp) => {
    await card(item).locator('[data-role="buy"]:enabled').click();
    await card(item).locator('[data-role="outcome"]', { hasText: outcome }).waitFor({ timeout: 15_000 });
  };
  await buy("sneaker-red", /^Completed/);
  await buy("sneaker-red", /^Limit reached/);
  await buy("sneaker-blue", /^Completed/);
  if (await card("hoodie").locator('[data-role="buy"]').isEnabled()) await buy("hoodie", /^Sold out/);
  await page.waitForTimeout(600); // the cards' views refreshed after the orders
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await engine.stop();
}
