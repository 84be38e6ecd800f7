/**
 * Run one AWS SDK call, retries included, within `ms`, then abort it. The SDK's own `requestTimeout` only logs a
 * warning unless `throwOnRequestTimeout` is set, an option older SDK builds (such as one a Lambda runtime ships)
 * do not know; an abort signal works in every v3 version. The timer is cleared either way: nothing outlives the call.
 */
export async function within<T>(ms: number, call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${ms} ms`)), ms);
  try {
    return await call(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

/** Client settings shared by the SQS and DynamoDB adapters: fail fast, and make the request timeout real where the SDK can. */
export const httpHandlerOptions = (timeoutMs: number) => ({
  connectionTimeout: Math.min(1000, timeoutMs),
  requestTimeout: timeoutMs,
  throwOnRequestTimeout: true,
});
