import type { LocalEngine } from "@flash/local/engine";

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

/** A response as the tests look at it: status, headers, and the body parsed as JSON when it is JSON. */
export async function replyOf(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: the text itself */
  }
  return { status: res.status, headers: res.headers, body };
}

/** A small client for the local HTTP API. */
export function client(engine: Pick<LocalEngine, "url" | "adminToken">) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const res = await fetch(engine.url + path, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return replyOf(res);
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
