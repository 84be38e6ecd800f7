import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../packages/functions/src/local/redis-server";

// The README's `npm start`, as a user runs it: its own process, its own redis-server, Ctrl-C to stop.
const start = (env: Record<string, string>) =>
  spawn(process.execPath, ["--import", "tsx", "scripts/local.ts"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });

describe("npm start", () => {
  it("serves the API, prints URL and admin token, takes an order through to COMPLETED, and stops cleanly on SIGINT", async () => {
    const port = await freePort();
    const child = start({ PORT: String(port), ADMIN_TOKEN: "readme-token", REDIS_URL: "" });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 200 && !out.includes("listening on"); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain(`listening on ${base}`);
    expect(out).toContain("admin token: readme-token");
    const redisPort = Number(/redis:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);

    const admin = { authorization: "Bearer readme-token", "content-type": "application/json" };
    expect((await fetch(`${base}/admin/items/sku-1`, { method: "PUT", headers: admin, body: `{"stock":100,"per_user_limit":2}` })).status).toBe(200);
    const rid = crypto.randomUUID();
    const buy = await fetch(`${base}/buy`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user_id: "alice", item_id: "sku-1", amount: 1, request_id: rid }) });
    expect(buy.status).toBe(202);
    let status = "PENDING";
    for (let i = 0; i < 100 && status === "PENDING"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = ((await (await fetch(`${base}/orders/${rid}`)).json()) as { status: string }).status;
    }
    expect(status).toBe("COMPLETED");

    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(out).toContain("stopped cleanly");
    // Its redis-server went with it.
    const ping = spawnSync("redis-cli", ["-p", String(redisPort), "ping"], { encoding: "utf8" });
    expect(ping.stdout.trim()).not.toBe("PONG");
  });

  it("explains how to get Redis when redis-server is not on PATH", () => {
    // A PATH with node and nothing else.
    const bin = mkdtempSync(join(tmpdir(), "path-"));
    symlinkSync(process.execPath, join(bin, "node"));
    const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/local.ts"], {
      env: { ...process.env, PATH: bin, REDIS_URL: "" },
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/redis-server is not on PATH.*\n.*apt-get install -y redis-server/);
  });
});
