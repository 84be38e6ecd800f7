/**
 * Every HTTP route, declared once. The stacks (stacks/Api.ts), the local gateway (packages/local), the ops CLI,
 * the benchmark and the docs tests read this list; a route added here is served everywhere it has a handler.
 *
 * `handler` names the module under packages/functions/src/http/; `auth` is who may call it (RouteAuth).
 * Admin routes share one function, and their `name` is the operation it performs.
 */
export const ROUTES = [
  { name: "buy", method: "POST", path: "/buy", handler: "buy", auth: "buyer" },
  { name: "order", method: "GET", path: "/orders/{request_id}", handler: "order", auth: "buyer" },
  { name: "item", method: "GET", path: "/items/{item_id}", handler: "item", auth: "public" },
  { name: "health", method: "GET", path: "/health", handler: "health", auth: "public" },
  { name: "listItems", method: "GET", path: "/admin/items", handler: "admin", auth: "admin" },
  { name: "setStock", method: "PUT", path: "/admin/items/{item_id}", handler: "admin", auth: "admin" },
  { name: "getItem", method: "GET", path: "/admin/items/{item_id}", handler: "admin", auth: "admin" },
  { name: "reconcile", method: "POST", path: "/admin/items/{item_id}/reconcile", handler: "admin", auth: "admin" },
  { name: "report", method: "GET", path: "/admin/items/{item_id}/report", handler: "admin", auth: "admin" },
] as const satisfies readonly { name: string; method: string; path: string; handler: string; auth: RouteAuth }[];

/**
 * Who may call a route: anyone ("public"); a buyer ("buyer": anyone too, unless the stage configures buyer identity,
 * then a verified JWT, API Gateway's JWT authorizer on AWS and the local gateway's in the local profile); or
 * operators ("admin": IAM on AWS, a bearer token in the local profile).
 */
export type RouteAuth = "public" | "buyer" | "admin";

export type Route = (typeof ROUTES)[number];
export type RouteName = Route["name"];
export type HandlerName = Route["handler"];
export type AdminOperation = Extract<Route, { auth: "admin" }>["name"];

/** API Gateway's route key, e.g. "GET /orders/{request_id}". */
export const routeKey = (route: Pick<Route, "method" | "path">) => `${route.method} ${route.path}`;

const byName = new Map<string, Route>(ROUTES.map((r) => [r.name, r]));

export const route = (name: RouteName): Route => byName.get(name)!;

/** A concrete path: the route's {parameters} filled in and encoded, e.g. pathOf("order", { request_id: "r-1" }). */
export function pathOf(name: RouteName, params: Record<string, string> = {}): string {
  return route(name).path.replace(/\{([a-z_]+)\}/g, (_m, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`pathOf(${name}): missing ${key}`);
    return encodeURIComponent(value);
  });
}

/** Every path the API serves, with the methods it answers there: any other method gets 405 with this Allow list. */
export const METHODS_AT: ReadonlyMap<string, readonly string[]> = ROUTES.reduce(
  (paths, r) => paths.set(r.path, [...(paths.get(r.path) ?? []), r.method]),
  new Map<string, string[]>(),
);

/**
 * The paths where a wrong method answers 405 with Allow ("ANY <path>" behind the declared routes): the storefront's,
 * not the operators' (an admin path answers 404 to an unsigned caller, as API Gateway does for IAM routes).
 */
export const NOT_ALLOWED_PATHS: readonly string[] = [...METHODS_AT.keys()].filter((path) =>
  ROUTES.every((r) => r.path !== path || r.auth !== "admin"),
);

/** The admin operation behind a route key: how the one admin function knows what was asked. */
export const ADMIN_OPERATIONS: ReadonlyMap<string, AdminOperation> = new Map(
  ROUTES.flatMap((r) => (r.auth === "admin" ? [[routeKey(r), r.name as AdminOperation] as const] : [])),
);
