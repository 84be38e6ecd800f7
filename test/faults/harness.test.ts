import net from "node:net";
import { afterAll, expect, it } from "vitest";
import { assertNoOrphans, ControlledRedis, FaultProxy } from "../support/faults";

// The fault tools themselves: when a scenario fails, it must be the engine, not the harness.

afterAll(() => assertNoOrphans());

/** Sends `text` and resolves to what came back, or to why nothing did within `ms`. */
function exchange(port: number, text: string, ms = 1_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const done = (result: string) => (clearTimeout(timer), socket.destroy(), resolve(result));
    const timer = setTimeout(() => done("silence"), ms);
    socket.once("connect", () => socket.write(text));
    socket.on("data", (chunk) => done(String(chunk)));
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

it("the proxy forwards, refuses, swallows and delays, and recovers on the same port", async () => {
  const echo = net.createServer((s) => s.on("data", (c) => s.write(c)));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
  const proxy = await FaultProxy.start(`http://127.0.0.1:${(echo.address() as net.AddressInfo).port}`);
  const port = Number(new URL(proxy.endpoint).port);
  try {
    expect(await exchange(port, "hello")).toBe("hello");
    await proxy.closed();
    expect(await exchange(port, "hello")).toBe("ECONNREFUSED");
    await proxy.silent();
    expect(await exchange(port, "hello", 300)).toBe("silence");
    await proxy.delay(250);
    const started = Date.now();
    expect(await exchange(port, "late")).toBe("late");
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    await proxy.up();
    expect(await exchange(port, "again")).toBe("again");
  } finally {
    await proxy.stop();
    await new Promise((r) => echo.close(r));
  }
});

it("closing the proxy resets connections already open", async () => {
  const echo = net.createServer((s) => s.on("data", (c) => s.write(c)));
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
  const proxy = await FaultProxy.start(`http://127.0.0.1:${(echo.address() as net.AddressInfo).port}`);
  try {
    const socket = net.connect(Number(new URL(proxy.endpoint).port), "127.0.0.1");
    socket.on("error", () => undefined);
    await new Promise((r) => socket.once("connect", r));
    const closed = new Promise((r) => socket.once("close", r));
    await proxy.closed();
    await closed;
  } finally {
    await proxy.stop();
    await new Promise((r) => echo.close(r));
  }
});

it("the controlled redis-server freezes, resumes, restarts empty and restarts from a snapshot on its port", async () => {
  const redis = await ControlledRedis.start();
  const cmd = (text: string, ms?: number) => exchange(redis.port, text, ms);
  try {
    expect(await cmd("SET k before\r\n")).toBe("+OK\r\n");
    const snapshot = await redis.snapshot();
    expect(await cmd("SET k after\r\n")).toBe("+OK\r\n");
    redis.pause();
    expect(await cmd("PING\r\n", 300)).toBe("silence");
    redis.resume();
    expect(await cmd("GET k\r\n")).toBe("$5\r\nafter\r\n");
    await redis.restartFrom(snapshot);
    expect(await cmd("GET k\r\n")).toBe("$6\r\nbefore\r\n");
    await redis.restartEmpty();
    expect(await cmd("GET k\r\n")).toBe("$-1\r\n");
  } finally {
    await redis.stop();
  }
});
