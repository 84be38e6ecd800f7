import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomUUID, timingSafeEqual } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { lambdaContext } from "./lambda-context";
import type { JwtAuthorizer } from "./jwt";

export type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface Route {
  method: string;
  /** API Gateway route syntax, e.g. /orders/{request_id} */
  path: string;
  handler: Handler;
  /** Stands in for IAM authorization: a bearer token locally. */
  admin?: boolean;
  /** Stands in for the HTTP API's JWT authorizer: a verified token, its claims passed on as API Gateway does. */
  jwt?: boolean;
}

/**
 * A static site served beside the API (the storefront): the files directly in `dir`, `/` being index.html, and
 * files made per request (e.g. /config.js). Only GET and HEAD, and only on paths no API route matches.
 */
export interface StaticSite {
  dir: string;
  /** Served instead of a file of the same name, e.g. { "/config.js": () => "window.X = ..." }. */
  generated?: Record<string, () => string>;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
};

/** The gateway's own limit on a request body; the handlers enforce the API's tighter 16 KiB. */
const MAX_GATEWAY_BODY = 1024 * 1024;

/**
 * A local stand-in for API Gateway (HTTP API, payload 2.0): each request becomes the event Lambda would
 * receive, for the very handler modules Lambda runs.
 */
export class LocalGateway {
  private readonly server: Server;
  private readonly compiled: { route: Route; pattern: RegExp; names: string[] }[];
  private inFlight = 0;
  /** Verifies the tokens of the `jwt` routes; until it is set, they answer 401 (closed, never open). */
  private authorizer: JwtAuthorizer | undefined;
  /** URL path → what to serve: the site's files, listed once (nothing outside its folder can be named). */
  private readonly site = new Map<string, { type: string; body: () => Buffer | string }>();

  /**
   * @param integrationTimeoutMs the HTTP API's integration limit: 30 s, as on AWS.
   * @param site a static site served on the paths no route matches (the storefront).
   */
  constructor(
    routes: Route[],
    private readonly adminToken: string,
    private readonly integrationTimeoutMs = 30_000,
    site?: StaticSite,
  ) {
    if (site) {
      for (const name of readdirSync(site.dir)) {
        const file = join(site.dir, name);
        if (!statSync(file).isFile() || !CONTENT_TYPES[extname(name)]) continue;
        this.site.set(`/${name}`, { type: CONTENT_TYPES[extname(name)]!, body: () => readFileSync(file) });
      }
      for (const [path, make] of Object.entries(site.generated ?? {})) {
        this.site.set(path, { type: CONTENT_TYPES[extname(path)] ?? "application/octet-stream", body: make });
      }
      const index = this.site.get("/index.html");
      if (index) this.site.set("/", index);
    }
    this.compiled = routes.map((route) => {
      const names: string[] = [];
      const pattern = new RegExp(
        "^" +
          route.path
            .split(/(\{[a-z_]+\})/)
            .map((part) => (/^\{[a-z_]+\}$/.test(part) ? (names.push(part.slice(1, -1)), "([^/]+)") : part.replace(/[.*+?^$()|[\]\\]/g, "\\$&")))
            .join("") +
          "$",
      );
      return { route, pattern, names };
    });
    // No request may take the process down: whatever escapes serve() is answered (or dropped) here.
    this.server = createServer((req, res) =>
      this.serve(req, res).catch(() => {
        if (!res.headersSent && !res.destroyed) send(res, { statusCode: 500, body: JSON.stringify({ message: "Internal Server Error" }) });
      }),
    );
    this.server.keepAliveTimeout = 5_000;
  }

  /** The JWT authorizer of the `jwt` routes (buyer identity). */
  useAuthorizer(authorizer: JwtAuthorizer): void {
    this.authorizer = authorizer;
  }

  async listen(port: number, host = "127.0.0.1"): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address() as { port: number };
    return `http://${host}:${address.port}`;
  }

  /** Stop accepting connections and wait for requests already being handled. */
  async close(): Promise<void> {
    const closed = new Promise((r) => this.server.close(r));
    this.server.closeIdleConnections();
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 10));
    this.server.closeAllConnections();
    await closed;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const method = req.method ?? "GET";
      const match = this.compiled.map((c) => ({ c, m: c.pattern.exec(url.pathname) })).filter((x) => x.m);
      // A declared route wins; "ANY" stands behind it, as in API Gateway (the 405 for a wrong method).
      const hit = match.find((x) => x.c.route.method === method) ?? match.find((x) => x.c.route.method === "ANY");
      const file = match.length === 0 && (method === "GET" || method === "HEAD") ? this.site.get(url.pathname) : undefined;
      if (file) return sendFile(res, file.type, file.body());
      if (!hit) return send(res, { statusCode: 404, body: JSON.stringify({ error: "not_found", message: `no route ${method} ${url.pathname}` }) });
      const { route, names } = hit.c;
      if (route.admin && !this.authorized(req.headers.authorization)) {
        return send(res, { statusCode: 401, body: JSON.stringify({ error: "unauthorized", message: "admin routes need Authorization: Bearer $ADMIN_TOKEN" }) });
      }
      let authorizer: APIGatewayProxyEventV2WithJWTAuthorizer["requestContext"]["authorizer"] | undefined;
      if (route.jwt) {
        const verdict = this.authorizer ? await this.authorizer.authorize(req.headers.authorization) : { ok: false as const, reason: "no authorizer yet" };
        if (!verdict.ok) {
          // API Gateway's answer, status and body; the header says why, in its form.
          const why = `Bearer scope="" error="invalid_token" error_description="${verdict.reason.replace(/[^\x20-\x7e]|"/g, "'")}"`;
          return send(res, { statusCode: 401, headers: { "www-authenticate": why }, body: JSON.stringify({ message: "Unauthorized" }) });
        }
        authorizer = { jwt: { claims: verdict.claims, scopes: verdict.scopes } };
      }
      let body: string | undefined;
      try {
        body = await readBody(req);
      } catch {
        res.destroy(); // the client went away mid-body: nobody to answer
        return;
      }
      if (body === undefined) return send(res, { statusCode: 413, body: JSON.stringify({ error: "payload_too_large" }) });
      const pathParameters = decodeParameters(names, hit.m!);
      if (!pathParameters) return send(res, { statusCode: 400, body: JSON.stringify({ error: "bad_request", message: "malformed percent-encoding in the path" }) });
      const event = toEvent(req, url, `${route.method} ${route.path}`, body, pathParameters, authorizer);
      send(res, await this.invoke(route, event));
    } finally {
      this.inFlight--;
    }
  }

  /** What API Gateway answers: the function's result, 500 when it fails, 503 when it overruns the integration timeout. */
  private async invoke(route: Route, event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<APIGatewayProxyStructuredResultV2>((resolve) => {
      timer = setTimeout(() => resolve({ statusCode: 503, body: JSON.stringify({ message: "Service Unavailable" }) }), this.integrationTimeoutMs);
    });
    try {
      return await Promise.race([route.handler(event, lambdaContext(route.path, this.integrationTimeoutMs)), overrun]);
    } catch {
      return { statusCode: 500, body: JSON.stringify({ message: "Internal Server Error" }) };
    } finally {
      clearTimeout(timer);
    }
  }

  private authorized(header: string | undefined): boolean {
    const given = Buffer.from(header ?? "");
    const expected = Buffer.from(`Bearer ${this.adminToken}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** Path parameters as API Gateway passes them, decoded; undefined when the encoding is malformed (e.g. "%"). */
function decodeParameters(names: string[], match: RegExpExecArray): Record<string, string> | undefined {
  try {
    return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1]!)]));
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const headers: Record<string, string> = { "content-type": "application/json" };
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(result.body ?? "");
}

/** A file of the static site: never cached by the browser without asking (the files carry no content hash). */
function sendFile(res: ServerResponse, type: string, body: Buffer | string): void {
  res.writeHead(200, {
    "content-type": type,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    // The page loads its own files only and talks to this origin (the API) only.
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_GATEWAY_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function toEvent(
  req: IncomingMessage,
  url: URL,
  routeKey: string,
  body: string,
  pathParameters: Record<string, string>,
  authorizer?: APIGatewayProxyEventV2WithJWTAuthorizer["requestContext"]["authorizer"],
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(",") : v;
  const now = new Date();
  return {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    pathParameters: Object.keys(pathParameters).length ? pathParameters : undefined,
    body: body || undefined,
    isBase64Encoded: false,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      domainPrefix: "local",
      http: { method: req.method ?? "GET", path: url.pathname, protocol: "HTTP/1.1", sourceIp: req.socket.remoteAddress ?? "127.0.0.1", userAgent: headers["user-agent"] ?? "" },
      requestId: randomUUID(),
      routeKey,
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
      ...(authorizer ? { authorizer } : {}),
    },
  };
}
