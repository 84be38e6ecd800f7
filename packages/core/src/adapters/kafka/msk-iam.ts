import { createHash, createHmac } from "node:crypto";
import type { Mechanism } from "kafkajs";
import type { AwsCredentials } from "../aws/client";

/**
 * SASL AWS_MSK_IAM for kafkajs: how a client authenticates to an MSK cluster whose IAM access control is on. The
 * client sends a JSON payload holding a SigV4-presigned "kafka-cluster:Connect" request for the broker's host; MSK
 * checks the signature and then authorizes every Kafka request against the principal's IAM policy.
 *
 * Written here rather than taken from @jm18457/kafkajs-msk-iam-authentication-mechanism, which loads
 * @aws-sdk/credential-providers when it loads: the functions keep the AWS SDK out of their bundles and sign with
 * their own credentials (as the Redis IAM token does, adapters/redis/iam-auth.ts). test/unit/kafka-msk-iam.test.ts
 * checks that both build the same payload for the same credentials and time.
 */

export const MSK_IAM_MECHANISM = "AWS_MSK_IAM";
const SERVICE = "kafka-cluster";
const ACTION = "kafka-cluster:Connect";
const ALGORITHM = "AWS4-HMAC-SHA256";
const EMPTY_SHA256 = createHash("sha256").update("").digest("hex");

export type CredentialSource = AwsCredentials | (() => Promise<AwsCredentials>);

export interface MskIamOptions {
  region: string;
  credentials: CredentialSource;
  /** Seconds the presigned request is valid (MSK's clients use 900). */
  ttlSeconds?: number;
  userAgent?: string;
  /** For tests: the signing time. */
  now?: () => Date;
}

/** The authentication payload for one broker host, as MSK expects it (payload version 2020_10_22). */
export async function mskIamPayload(brokerHost: string, options: MskIamOptions): Promise<Record<string, string>> {
  const credentials = typeof options.credentials === "function" ? await options.credentials() : options.credentials;
  const when = options.now?.() ?? new Date();
  const amzDate = when.toISOString().replace(/[-.:]/g, "").slice(0, 15) + "Z"; // 20261122T204500Z
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${options.region}/${SERVICE}/aws4_request`;
  const credential = `${credentials.accessKeyId}/${scope}`;
  const expires = String(options.ttlSeconds ?? 900);
  const query: [string, string][] = [
    ["Action", ACTION],
    ["X-Amz-Algorithm", ALGORITHM],
    ["X-Amz-Credential", credential],
    ["X-Amz-Date", amzDate],
    ["X-Amz-Expires", expires],
    ...(credentials.sessionToken ? ([["X-Amz-Security-Token", credentials.sessionToken]] as [string, string][]) : []),
    ["X-Amz-SignedHeaders", "host"],
  ]; // already in SigV4's order (by name)
  const canonicalQuery = query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  const canonicalRequest = ["GET", "/", canonicalQuery, `host:${brokerHost}\n`, "host", EMPTY_SHA256].join("\n");
  const stringToSign = [ALGORITHM, amzDate, scope, createHash("sha256").update(canonicalRequest, "utf8").digest("hex")].join("\n");
  const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), options.region), SERVICE), "aws4_request");
  const payload: Record<string, string> = {
    version: "2020_10_22",
    "user-agent": options.userAgent ?? "flash-sale",
    host: brokerHost,
    action: ACTION,
    "x-amz-credential": credential,
    "x-amz-algorithm": ALGORITHM,
    "x-amz-date": amzDate,
  };
  if (credentials.sessionToken) payload["x-amz-security-token"] = credentials.sessionToken;
  payload["x-amz-signedheaders"] = "host";
  payload["x-amz-expires"] = expires;
  payload["x-amz-signature"] = createHmac("sha256", signingKey).update(stringToSign, "utf8").digest("hex");
  return payload;
}

/** The SASL frame: the payload's UTF-8 JSON behind its 4-byte big-endian length. */
export function saslFrame(payload: Record<string, string>): Buffer {
  const json = Buffer.from(JSON.stringify(payload), "utf8");
  const frame = Buffer.alloc(4 + json.length);
  frame.writeUInt32BE(json.length, 0);
  json.copy(frame, 4);
  return frame;
}

/** The kafkajs `sasl` setting for an MSK cluster with IAM access control (use it with `ssl: true`, port 9098). */
export function mskIamMechanism(options: MskIamOptions): Mechanism {
  return {
    mechanism: MSK_IAM_MECHANISM,
    authenticationProvider: ({ host, saslAuthenticate }) => ({
      async authenticate() {
        const payload = await mskIamPayload(host, options);
        const answer = await saslAuthenticate<{ version?: string }>({
          request: { encode: () => saslFrame(payload) },
          response: {
            decode: (raw: Buffer) => raw.subarray(4, 4 + raw.readInt32BE(0)),
            parse: (data: Buffer) => JSON.parse(data.toString("utf8")) as { version?: string },
          },
        });
        if (!answer || typeof answer !== "object" || !answer.version) throw new Error(`${MSK_IAM_MECHANISM}: the broker ${host} refused the authentication`);
      },
    }),
  };
}
