import middy from "@middy/core";
import { METHODS_AT } from "@flash/core/contract/routes";
import { Http } from "./http";

// No AWS SDK client and no Redis: it answers from the route table alone.

/**
 * Any other method on a path the API serves: 405 with an Allow header, routed as "ANY <path>" (the declared routes
 * are more specific and win), so that a wrong method is told what would work instead of "not found".
 */
export async function notAllowed(event: Http.Event): Promise<Http.Result> {
  const path = event.routeKey.replace(/^ANY /, "");
  const allow = (METHODS_AT.get(path) ?? []).join(", ");
  const method = event.requestContext?.http?.method ?? "this method";
  return Http.reply(
    405,
    { error: "method_not_allowed", message: `${method} is not served on ${path}; use ${allow}`, correlation_id: Http.correlationId(event) },
    { allow },
  );
}

export const handler = middy(notAllowed).use(Http.correlationHeader());
