import { Kafka, logLevel } from "kafkajs";
import type { Config } from "../../contract/environment";
import { mskIamMechanism, type CredentialSource } from "./msk-iam";

/** What a Kafka client is built from: the brokers, and on MSK the region and credentials its IAM authentication signs with. */
export type KafkaClientSettings = Pick<Config, "KAFKA_BROKERS" | "KAFKA_IAM_AUTH" | "AWS_REGION" | "AWS_CALL_TIMEOUT_MS"> &
  Partial<Pick<Config, "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN">> & {
    /** Instead of the credentials in the settings (the ops CLI passes the default AWS credential chain). */
    credentials?: CredentialSource;
    clientId?: string;
  };

export const brokerList = (brokers: string) =>
  brokers
    .split(",")
    .map((b) => b.trim())
    .filter(Boolean);

/** The credentials an MSK client signs with: given ones, else the function's own (Lambda puts them in its environment). */
function credentialsOf(settings: KafkaClientSettings): CredentialSource {
  if (settings.credentials) return settings.credentials;
  if (!settings.AWS_ACCESS_KEY_ID || !settings.AWS_SECRET_ACCESS_KEY) {
    throw new Error("KAFKA_IAM_AUTH=true needs AWS credentials to sign with (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)");
  }
  return { accessKeyId: settings.AWS_ACCESS_KEY_ID, secretAccessKey: settings.AWS_SECRET_ACCESS_KEY, sessionToken: settings.AWS_SESSION_TOKEN };
}

/**
 * A kafkajs client. Timeouts are explicit, as for the AWS clients: a buy answers 503 quickly rather than hanging on an
 * unreachable broker. On MSK (KAFKA_IAM_AUTH=true): TLS and SASL AWS_MSK_IAM.
 */
export function kafkaClient(settings: KafkaClientSettings): Kafka {
  const brokers = brokerList(settings.KAFKA_BROKERS);
  if (!brokers.length) throw new Error("QUEUE_TRANSPORT=kafka needs KAFKA_BROKERS (host:port[,host:port...])");
  const timeoutMs = settings.AWS_CALL_TIMEOUT_MS;
  const iam = settings.KAFKA_IAM_AUTH === "true";
  return new Kafka({
    clientId: settings.clientId ?? "flash-sale",
    brokers,
    ...(iam ? { ssl: true, sasl: mskIamMechanism({ region: settings.AWS_REGION, credentials: credentialsOf(settings) }) } : {}),
    connectionTimeout: Math.min(1000, timeoutMs),
    authenticationTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    // Reconnects and metadata: a few quick tries, no more (the caller's deadline is what counts).
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    // Silent: every failure reaches the caller, which logs it with the order's correlation id (kafkajs would log
    // each reconnect attempt of an outage on its own).
    logLevel: logLevel.NOTHING,
  });
}

/** Settle `work` within `ms`, or reject. kafkajs takes no abort signal: what it was doing may go on in the background. */
export async function deadline<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
