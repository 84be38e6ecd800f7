import type { Config } from "../../contract/environment";

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

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What an SQS or DynamoDB client is built from. */
export type AwsClientSettings = Pick<Config, "AWS_REGION" | "AWS_ENDPOINT_URL"> &
  Partial<Pick<Config, "AWS_CALL_TIMEOUT_MS" | "AWS_ENDPOINT_URL_SQS" | "AWS_ENDPOINT_URL_DYNAMODB">> & {
    /** Default: the SDK's own chain. The local stand-ins accept any. */
    credentials?: AwsCredentials;
  };

/**
 * The options both adapters' clients share: region, endpoint (the service's own, else the common one), credentials,
 * and an HTTP handler that fails fast and makes the request timeout real where the SDK can.
 */
export function clientOptions(settings: AwsClientSettings, serviceEndpoint: string | undefined, maxAttempts: number) {
  const timeoutMs = settings.AWS_CALL_TIMEOUT_MS ?? 3000;
  return {
    region: settings.AWS_REGION,
    endpoint: serviceEndpoint ?? settings.AWS_ENDPOINT_URL,
    credentials: settings.credentials,
    maxAttempts,
    requestHandler: { connectionTimeout: Math.min(1000, timeoutMs), requestTimeout: timeoutMs, throwOnRequestTimeout: true },
  };
}
