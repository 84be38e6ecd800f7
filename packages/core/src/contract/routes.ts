/**
 * Every HTTP route, declared once. The stacks (stacks/Api.ts), the local gateway (packages/local), the OpenAPI
 * file's test and the docs read this list; a route added here is served everywhere it has a handler.
 *
 * `handler` names the module under packages/functions/src/http/; `auth` is who may call it: anyone ("public"),
 * or operators ("admin": IAM on AWS, a bearer token in the local profile). Admin routes share one function and
 * `operation` names what it does.
 */
export const ROUTES = [
  { method: "POST", path: "/buy", handler: "buy", auth: "public" },
  { method: "GET", path: "/orders/{request_id}", handler: "order", auth: "public" },
  { method: "GET", path: "/health", handler: "health", auth: "public" },
  { method: "GET", path: "/admin/items", handler: "admin", auth: "admin", operation: "listItems" },
  { method: "PUT", path: "/admin/items/{item_id}", handler: "admin", auth: "admin", operation: "setStock" },
  { method: "GET", path: "/admin/items/{item_id}", handler: "admin", auth: "admin", operation: "getItem" },
  { method: "POST", path: "/admin/items/{item_id}/reconcile", handler: "admin", auth: "admin", operation: "reconcile" },
  { method: "GET", path: "/admin/items/{item_id}/report", handler: "admin", auth: "admin", operation: "report" },
] as const;

export type Route = (typeof ROUTES)[number];
export type HandlerName = Route["handler"];
export type AdminOperation = Extract<Route, { auth: "admin" }>["operation"];

/** API Gateway's route key, e.g. "GET /orders/{request_id}". */
export const routeKey = (route: Pick<Route, "method" | "path">) => `${route.method} ${route.path}`;

/** The admin operation behind a route key: how the one admin function knows what was asked. */
export const ADMIN_OPERATIONS: ReadonlyMap<string, AdminOperation> = new Map(
  ROUTES.flatMap((r) => ("operation" in r ? [[routeKey(r), r.operation] as const] : [])),
);
