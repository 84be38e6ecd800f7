import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startLocalEngine, type LocalEngine } from "@flash/local/engine";
import { runRemote } from "../../bench/remote";

// `npm run bench -- --url`: the bench's scenarios against an engine that is already running, here one started by
// the test (the local profile, in this process). The bench runs as a user runs it, in its own process, through the
// same entry point as `npm run bench`. Small numbers: this checks the mode works and checks what it should, not speed.
let engine: LocalEngine;
let out: string;

beforeAll(async () => {
  engine = await startLocalEngine({ port: 0, redisUrl: inject("redisUrl"), sweepIntervalMs: 0, storefront: false });
  out = mkdtempSync(join(tmpdir(), "bench-remote-"));
});

afterAll(async () => {
  await engine?.stop();
  if (out) rmSync(out, { recursive: true, force: true });
});

/** `npm run bench -- <args>` in a child process (asynchronously: the engine under test shares this event loop). */
function bench(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/cli.ts", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run bench -- --url", () => {
  it("runs the storm, the flash crowd and accepted orders against a running engine, and the crowd's checks hold", async () => {
    const r = await bench(["--url", engine.url, "--buyers", "300", "--stock", "20", "--duration", "2", "--out", out], { ADMIN_TOKEN: engine.adminToken });
    expect(r.stderr).not.toMatch(/bench:/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("skipped here: the floors, Redis MONITOR counts");
    for (const line of [
      "check flash crowd: units sold: expected 20, seen 20: ok",
      "check flash crowd: in flight after settlement: expected 0, seen 0: ok",
      "check flash crowd: 5xx answers: expected 0, seen 0: ok",
      "check flash crowd: 202 answers: expected 20, seen 20: ok",
      "check flash crowd: orders of the 202s (GET /orders, 20 looked up): expected 20 COMPLETED, seen 20 COMPLETED: ok",
      "check accepted orders: units sold: expected 20, seen 20: ok",
      "check accepted orders: in flight after settlement: expected 0, seen 0: ok",
    ]) expect(r.stdout).toContain(line);
    expect(r.stdout).not.toContain("VIOLATION");
    expect(r.stdout).toContain("bench: all checks held");
    // The local bench's table, written beside the JSON.
    const host = new URL(engine.url).host.replace(":", "_");
    const md = readFileSync(join(out, `remote-${host}.md`), "utf8");
    expect(md).toContain("| path | requests/s | p50 | p99 | ratio to bare Node | ratio to bare + 1 EVALSHA | Redis commands per request |");
    expect(md).toMatch(/\| flash crowd: 300 distinct buyers for 20 units \| [\d,]+ \| \d+ ms \| \d+ ms \| — \| — \| — \|/);
    const json = JSON.parse(readFileSync(join(out, `remote-${host}.json`), "utf8"));
    expect(json.ok).toBe(true);
    expect(json.http.flash_crowd.status).toMatchObject({ 202: 20, 410: 280 });
    expect(json.http.flash_crowd.levels_after).toMatchObject({ stock: 0, in_flight: 0, sold: 20 });
    expect(json.http.sold_out.status).toEqual({ 410: json.http.sold_out.total });
    // Fresh, named items per run.
    expect(json.items.crowd).toMatch(/^bench-\d{8}T\d{6}Z-[0-9a-f]{4}-crowd$/);
    expect(r.stdout).toContain(json.items.crowd);
  });

  it("refuses a non-loopback target without --i-own-this-target, before contacting it", async () => {
    // .invalid never resolves: were the refusal to come after a request, the run would fail differently (exit 1).
    const r = await bench(["--url", "https://engine.example.invalid", "--buyers", "300", "--stock", "20", "--duration", "2", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("refusing to load engine.example.invalid: not a loopback address");
    expect(r.stderr).toContain("--i-own-this-target");
    expect(r.stdout).toBe("");
  });

  it("stops with a clear message when buyer identity is on (POST /buy answers 401)", async () => {
    const guarded = await startLocalEngine({ port: 0, redisUrl: inject("redisUrl"), sweepIntervalMs: 0, storefront: false, env: { AUTH_DEV_ISSUER: "1" } });
    try {
      const lines: string[] = [];
      const code = await runRemote(["--url", guarded.url, "--token", guarded.adminToken, "--duration", "1", "--out", out], {
        env: {},
        out: (l) => lines.push(l),
        err: (l) => lines.push(l),
      });
      expect(code).toBe(2);
      expect(lines.join("\n")).toMatch(/POST \/buy answered 401 .*buyer identity is on/);
      expect(lines.join("\n")).not.toContain("sold-out storm:");
    } finally {
      await guarded.stop();
    }
  });

  it("exits 1 when a check fails: here every payment is declined, so nothing is sold", async () => {
    const declining = await startLocalEngine({ port: 0, redisUrl: inject("redisUrl"), sweepIntervalMs: 0, storefront: false, env: { PAYMENT_FAILURE_RATE: "1" } });
    try {
      const lines: string[] = [];
      const argv = ["--url", declining.url, "--token", declining.adminToken, "--buyers", "50", "--stock", "5", "--duration", "1", "--connections", "10", "--skip-accepted", "--out", out];
      const code = await runRemote(argv, { env: {}, out: (l) => lines.push(l), err: (l) => lines.push(l) });
      const text = lines.join("\n");
      expect(code, text).toBe(1);
      expect(text).toContain("check flash crowd: units sold: expected 5, seen 0: VIOLATION");
      expect(text).toContain("check flash crowd: in flight after settlement: expected 0, seen 0: ok");
      expect(text).toMatch(/orders of the 202s .*: expected \d+ COMPLETED, seen \d+ FAILED_PAYMENT: VIOLATION/);
      expect(text).toContain("| flash crowd: units sold | 5 | 0 | **violation** |");
      expect(text).toMatch(/bench: [23] check\(s\) failed/); // and the 202 count, when released units were bought again
    } finally {
      await declining.stop();
    }
  });

  it("answers a bad flag with one line and a pointer to --help (exit 2)", async () => {
    const lines: string[] = [];
    const io = { env: {}, out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    expect(await runRemote(["--url", engine.url, "--rps", "fast"], io)).toBe(2);
    expect(await runRemote(["--url", engine.url, "--nope"], io)).toBe(2);
    expect(lines.join("\n")).toContain("--rps must be an integer >= 1");
    expect(lines.join("\n")).toContain("Unknown option '--nope'");
    expect(lines.join("\n")).toContain("npm run bench -- --help");
  });
});
