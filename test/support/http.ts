import type { LocalEngine } from "@flash/local/engine";

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

/** A small client for the local HTTP API. */
export function client(engine: Pick<LocalEngine, "url" | "adminToken">) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const res = await fetch(engine.url + path, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };
  const admin = { authorization: `Bearer ${engine.adminToken}` };
  return {
    call,
    buy: (order: unknown, headers?: Record<string, string>) => call("POST", "/buy", order, headers),
    order: (requestId: string, headers?: Record<string, string>) => call("GET", `/orders/${encodeURIComponent(requestId)}`, undefined, headers),
    health: () => call("GET", "/health"),
    setStock: (item: string, stock: number, perUserLimit?: number) =>
      call("PUT", `/admin/items/${item}`, { stock, ...(perUserLimit ? { per_user_limit: perUserLimit } : {}) }, admin),
    levels: (item: string) => call("GET", `/admin/items/${item}`, undefined, admin),
  };
}
