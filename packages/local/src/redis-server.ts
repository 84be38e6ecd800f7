import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, connect } from "node:net";

export interface RedisServer {
  port: number;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function hasRedisServer(): boolean {
  return spawnSync("redis-server", ["--version"]).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A private redis-server from PATH on a free port, nothing on disk. `cluster: true` starts a one-node
 * Redis Cluster owning every slot: it still refuses multi-key commands across slots (CROSSSLOT), as ElastiCache does.
 */
export async function startRedisServer(options: { cluster?: boolean; port?: number } = {}): Promise<RedisServer> {
  if (!hasRedisServer()) {
    throw new Error("redis-server was not found on PATH. Install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL.");
  }
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "flash-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  if (options.cluster) args.push("--cluster-enabled", "yes", "--cluster-config-file", join(dir, "nodes.conf"), "--cluster-announce-ip", "127.0.0.1");
  const child = spawn("redis-server", args, { stdio: "ignore" });
  await waitForPort(port, child);
  if (options.cluster) {
    const { Redis } = await import("ioredis");
    const admin = new Redis({ port, lazyConnect: true });
    await admin.connect();
    await admin.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
    for (let i = 0; i < 100 && !(String(await admin.call("CLUSTER", "INFO")).includes("cluster_state:ok")); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    admin.disconnect();
  }
  let stopped = false;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    process: child,
    async stop() {
      if (stopped) return;
      stopped = true;
      // A child killed by a signal has exitCode null and signalCode set: it is gone, and will not emit "exit" again.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} on port ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server did not start on port ${port}`);
}
