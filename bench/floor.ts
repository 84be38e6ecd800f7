/**
 * A floor for `npm run bench`, run in its own process: the least any HTTP server on this machine can do per request.
 *   node --import tsx bench/floor.ts bare <port>
 *     parse the JSON body, answer 410.
 *   node --import tsx bench/floor.ts evalsha <port> <redis-url>
 *     the same plus exactly one EVALSHA per request (a script reading one hash field, the work of a sold-out gate)
 *     with ioredis auto-pipelining, as the engine's client does.
 */
import { createServer } from "node:http";
import { Redis } from "ioredis";
import { FLOOR_GATE_LUA } from "./support";

const FLOOR_KEY = "bench:floor:{item}";

const [mode, portText, redisUrl] = process.argv.slice(2);
const port = Number(portText);
if ((mode !== "bare" && mode !== "evalsha") || !port || (mode === "evalsha" && !redisUrl)) {
  console.error("usage: floor.ts bare <port> | floor.ts evalsha <port> <redis-url>");
  process.exit(2);
}

type Gate = Redis & { gate(key: string): Promise<string | null> };
let redis: Gate | undefined;
if (mode === "evalsha") {
  redis = new Redis(redisUrl!, { enableAutoPipelining: true }) as Gate;
  redis.defineCommand("gate", { numberOfKeys: 1, lua: FLOOR_GATE_LUA });
  await redis.hset(FLOOR_KEY, "stock", "0");
}

const SOLD_OUT = '{"error":"sold_out"}';
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    try {
      JSON.parse(body);
    } catch {
      /* the floor answers anyway */
    }
    const answer = (status: number) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(status === 410 ? SOLD_OUT : '{"error":"floor"}');
    };
    if (!redis) return answer(410);
    redis.gate(FLOOR_KEY).then(
      (stock) => answer(Number(stock ?? 0) <= 0 ? 410 : 202),
      () => answer(500),
    );
  });
});
server.listen(port, "127.0.0.1", () => console.log(`floor ${mode} listening on ${port}`));

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    redis?.disconnect();
    process.exit(0);
  });
}
