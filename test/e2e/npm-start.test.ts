import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { connect, createServer } from "node:net";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@flash/local/redis-server";
import { startLocalEngine } from "@flash/local/engine";

// The README's `npm start`, as a user runs it: its own process, its own redis-server, Ctrl-C to stop. Its connection
// file for the ops CLI goes to a directory of its own, not to the repository's .sst/ (where a developer's may be).
const start = (env: Record<string, string>) =>
  spawn(process.execPath, ["--import", "tsx", "scripts/local.ts"], {
    env: { ...process.env, LOCAL_PROFILE_FILE: join(mkdtempSync(join(tmpdir(), "npm-start-")), "local-profile.json"), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });

/** `npm run ops -- <argv>` from another shell: none of the exported variables, only where the connection file is. */
function opsFromAnotherShell(argv: string[], profileFile: string) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !["API_URL", "ADMIN_TOKEN", "QUEUE_URL", "DLQ_URL", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"].includes(k)),
  );
  return spawnSync(process.execPath, ["--import", "tsx", "scripts/ops.ts", ...argv], { env: { ...env, LOCAL_PROFILE_FILE: profileFile }, encoding: "utf8" });
}

/** Start `npm start` on a free port and wait for its banner. */
async function launch(env: Record<string, string>) {
  const port = await freePort();
  const child = start({ PORT: String(port), REDIS_URL: "", ...env });
  const output = { text: "" };
  child.stdout.on("data", (c) => (output.text += c));
  child.stderr.on("data", (c) => (output.text += c));
  for (let i = 0; i < 200 && !output.text.includes("listening on"); i++) await new Promise((r) => setTimeout(r, 50));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, output, exited, base: `http://127.0.0.1:${port}`, port, redisPort: Number(/redis:\/\/127\.0\.0\.1:(\d+)/.exec(output.text)?.[1]) };
}

/** The addresses a process listens on (Linux /proc): its sockets' inodes matched with the kernel's TCP tables. */
function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const target = (() => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ""; } })();
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]!);
  }
  const addresses: string[] = [];
  for (const table of ["tcp", "tcp6"]) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, "utf8").trim().split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== "0A" || !inodes.has(cols[9]!)) continue; // 0A: LISTEN
      const [hex, port] = cols[1]!.split(":");
      const ip = table === "tcp" ? hex!.match(/../g)!.reverse().map((b) => parseInt(b, 16)).join(".") : hex === "00000000000000000000000000000000" ? "::" : hex === "00000000000000000000000001000000" ? "::1" : hex!;
      addresses.push(`${ip}:${parseInt(port!, 16)}`);
    }
  }
  return addresses;
}

/** Send the head of a request that promises a body, write half of it, and hang up. */
function abortMidBody(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write("POST /buy HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"user_id\":");
      setTimeout(() => (socket.destroy(), resolve()), 50);
    });
    socket.on("error", () => resolve());
  });
}

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

  it("writes its connection file (0600) for the ops CLI, which finds it without exports; removes it on stop, and leaves another profile's alone", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "profile-")), ".sst", "local-profile.json");
    const first = await launch({ ADMIN_TOKEN: "", LOCAL_PROFILE_FILE: file });
    let second: Awaited<ReturnType<typeof launch>> | undefined;
    try {
      expect(first.output.text).toContain(`ops CLI: \`npm run ops -- stock\` in this directory finds this profile by itself (its connection details are in ${file}, removed when it stops)`);
      expect((statSync(file).mode & 0o777).toString(8)).toBe("600");
      const written = JSON.parse(readFileSync(file, "utf8"));
      const token = /admin token: (\S+)/.exec(first.output.text)![1];
      expect(written).toMatchObject({ pid: first.child.pid, API_URL: first.base, ADMIN_TOKEN: token, AWS_ACCESS_KEY_ID: "local" });
      expect(written.DLQ_URL).toMatch(/orders-dlq$/);

      const loaded = opsFromAnotherShell(["stock", "sku-1", "--set", "7"], file);
      expect([loaded.status, loaded.stderr.trim()]).toEqual([0, ""]);
      expect(loaded.stdout).toMatch(/^loaded: sku-1\s+stock\s+7/);
      expect(opsFromAnotherShell(["dlq"], file).stdout.trim()).toBe("the DLQ is empty");

      // A second npm start leaves the file to the first, which still runs, and says so.
      second = await launch({ ADMIN_TOKEN: "", LOCAL_PROFILE_FILE: file });
      expect(second.output.text).toContain(`ops CLI: ${file} belongs to the npm start already running (pid ${first.child.pid}, ${first.base})`);
      second.child.kill("SIGINT");
      expect(await second.exited).toBe(0);
      expect(JSON.parse(readFileSync(file, "utf8")).pid).toBe(first.child.pid);
    } finally {
      if (second?.child.exitCode === null) second.child.kill("SIGINT");
      first.child.kill("SIGINT");
      expect(await first.exited).toBe(0);
    }
    expect(existsSync(file)).toBe(false);
    const after = opsFromAnotherShell(["stock"], file);
    expect(after.status).toBe(2);
    expect(after.stderr.trim()).toMatch(/^error: no API URL: start the local profile/);
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

  it("refuses a busy port, a bad PORT and a bad setting in one line each, without a stack trace", async () => {
    const blocker = createServer();
    const busy = await new Promise<number>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as { port: number }).port)));
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ["--import", "tsx", "scripts/local.ts"], { env: { ...process.env, REDIS_URL: "", ...env }, encoding: "utf8" });
    try {
      const inUse = run({ PORT: String(busy) });
      expect([inUse.status, inUse.stderr.trim()]).toEqual([1, `npm start: port ${busy} is in use; set PORT to another one (PORT=0 picks a free port)`]);
    } finally {
      blocker.close();
    }
    const badPort = run({ PORT: "abc" });
    expect([badPort.status, badPort.stderr.trim()]).toEqual([2, 'npm start: PORT must be a port number from 0 to 65535, not "abc"']);
    const badSetting = run({ PORT: "0", RATE_LIMIT_MAX_REQUESTS: "0" });
    expect(badSetting.status).toBe(2);
    expect(badSetting.stderr.trim()).toMatch(/^npm start: invalid configuration: RATE_LIMIT_MAX_REQUESTS: [^\n]+$/);
  });

  it("leaves no redis-server behind when the engine fails after starting one (checked by PID)", async () => {
    const redisChildren = () =>
      spawnSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" }).stdout.split("\n").filter((l) => l.includes("redis-server"));
    const before = redisChildren();
    const blocker = createServer();
    const busy = await new Promise<number>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as { port: number }).port)));
    try {
      // The gateway's listen fails last, after redis-server and the stand-ins have started.
      await expect(startLocalEngine({ port: busy })).rejects.toMatchObject({ code: "EADDRINUSE" });
    } finally {
      blocker.close();
    }
    expect(redisChildren()).toEqual(before);
  });

  it("drains on SIGTERM as on Ctrl-C: exit 0, and its redis-server is gone", async () => {
    const engine = await launch({ ADMIN_TOKEN: "t" });
    expect(engine.output.text).toContain("data lives in memory");
    engine.child.kill("SIGTERM");
    expect(await engine.exited).toBe(0);
    expect(engine.output.text).toContain("SIGTERM: draining in-flight work");
    expect(engine.output.text).toContain("stopped cleanly");
    const ping = spawnSync("redis-cli", ["-p", String(engine.redisPort), "ping"], { encoding: "utf8" });
    expect(ping.stdout.trim()).not.toBe("PONG");
  });

  it("warns at start when REDIS_URL does not answer, and names redis in the 503", async () => {
    const dead = await freePort();
    const engine = await launch({ ADMIN_TOKEN: "t", REDIS_URL: `redis://127.0.0.1:${dead}` });
    try {
      expect(engine.output.text).toContain(`warning: REDIS_URL redis://127.0.0.1:${dead} does not answer`);
      const buy = await fetch(`${engine.base}/buy`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user_id: "u", item_id: "i", amount: 1, request_id: "r-1" }) });
      expect(buy.status).toBe(503);
      expect(await buy.json()).toMatchObject({ error: "unavailable", dependency: "redis" });
    } finally {
      engine.child.kill("SIGINT");
      await engine.exited;
    }
  });

  it("keeps serving through hostile requests: a malformed path escape and a body aborted half-way", async () => {
    const engine = await launch({ ADMIN_TOKEN: "t" });
    try {
      const bad = await fetch(`${engine.base}/orders/%`);
      expect(bad.status).toBe(400);
      for (let i = 0; i < 3; i++) await abortMidBody(engine.port);
      await new Promise((r) => setTimeout(r, 200));
      expect(engine.child.exitCode).toBeNull();
      const health = await fetch(`${engine.base}/health`);
      expect(health.status).toBe(200);
    } finally {
      engine.child.kill("SIGINT");
      await engine.exited;
      // Before the fix the engine had died here, leaving its redis-server behind.
      spawnSync("redis-cli", ["-p", String(engine.redisPort), "shutdown", "nosave"]);
    }
  });

  it("treats an empty ADMIN_TOKEN as unset: it generates one, prints it, and the admin routes accept it", async () => {
    const engine = await launch({ ADMIN_TOKEN: "" });
    try {
      const token = /admin token: (\S*)/.exec(engine.output.text)?.[1] ?? "";
      expect(token).toMatch(/^[0-9a-f]{32}$/);
      expect(engine.output.text).toContain("(generated; set ADMIN_TOKEN to choose one)");
      const items = await fetch(`${engine.base}/admin/items`, { headers: { authorization: `Bearer ${token}` } });
      expect(items.status).toBe(200);
      expect((await fetch(`${engine.base}/admin/items`, { headers: { authorization: "Bearer " } })).status).toBe(401);
    } finally {
      engine.child.kill("SIGINT");
      await engine.exited;
    }
  });

  it("still stops cleanly on SIGINT after its redis-server was killed", async () => {
    const engine = await launch({ ADMIN_TOKEN: "t" });
    const pid = spawnSync("pgrep", ["-f", `redis-server 127.0.0.1:${engine.redisPort}`], { encoding: "utf8" }).stdout.trim();
    expect(pid).toMatch(/^\d+$/);
    process.kill(Number(pid), "SIGKILL");
    await new Promise((r) => setTimeout(r, 100));
    engine.child.kill("SIGINT");
    const code = await Promise.race([engine.exited, new Promise((r) => setTimeout(() => r("hung"), 10_000))]);
    if (code === "hung") engine.child.kill("SIGKILL");
    expect(code).toBe(0);
    expect(engine.output.text).toContain("stopped cleanly");
  });

  it("listens on loopback only: its gateway, the SQS and DynamoDB stand-ins and its redis-server", async () => {
    const engine = await launch({ ADMIN_TOKEN: "t" });
    try {
      const redisPid = Number(spawnSync("pgrep", ["-f", `redis-server 127.0.0.1:${engine.redisPort}`], { encoding: "utf8" }).stdout.trim());
      const addresses = [...listeningAddresses(engine.child.pid!), ...listeningAddresses(redisPid)];
      expect(addresses.length).toBeGreaterThanOrEqual(4); // gateway, fauxqs, dynalite, redis-server
      for (const address of addresses) expect(address).toMatch(/^(127\.0\.0\.1|::1):\d+$/);
    } finally {
      engine.child.kill("SIGINT");
      await engine.exited;
    }
  });
});
