import { createHash, createHmac } from "node:crypto";
import type { AwsCredentials } from "../aws/client";

export interface IamAuthOptions {
  /** The serverless cache's name (lower case), which the token is signed for. */
  cacheName: string;
  /** The ElastiCache user in IAM mode; its id and name are the same. */
  userId: string;
  region: string;
  credentials: AwsCredentials;
  /** For tests: the signing time. */
  now?: () => Date;
}

const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();
/** RFC 3986 encoding, as SigV4 wants it. */
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * An ElastiCache IAM authentication token: a SigV4-presigned "connect" request for the cache and user, used as the
 * AUTH password. Valid for 15 minutes, and needed only when a connection authenticates (ElastiCache closes IAM
 * connections after 12 hours, and the client then reconnects with a fresh token).
 */
export function iamAuthToken(options: IamAuthOptions, expiresSeconds = 900): string {
  const now = options.now?.() ?? new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, ""); // 20261122T204500Z
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${options.region}/elasticache/aws4_request`;
  const params: [string, string][] = [
    ["Action", "connect"],
    ["ResourceType", "ServerlessCache"],
    ["User", options.userId],
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${options.credentials.accessKeyId}/${scope}`],
    ["X-Amz-Date", amzDate],
    ["X-Amz-Expires", String(expiresSeconds)],
    ...(options.credentials.sessionToken ? ([["X-Amz-Security-Token", options.credentials.sessionToken]] as [string, string][]) : []),
    ["X-Amz-SignedHeaders", "host"],
  ];
  const query = params
    .map(([k, v]) => [encode(k), encode(v)])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = ["GET", "/", query, `host:${options.cacheName}\n`, "host", sha256("")].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  const key = ["aws4_request"].reduce(
    (k, part) => hmac(k, part),
    hmac(hmac(hmac(`AWS4${options.credentials.secretAccessKey}`, date), options.region), "elasticache"),
  );
  const signature = createHmac("sha256", key).update(stringToSign).digest("hex");
  return `${options.cacheName}/?${query}&X-Amz-Signature=${signature}`;
}

/**
 * A password that is a fresh token whenever a connection reads it: the token is reused for 10 minutes, well inside
 * its 15-minute validity, so reconnects (and ElastiCache's 12-hour disconnects) always authenticate.
 */
export function iamPassword(options: IamAuthOptions): () => string {
  let token = "";
  let madeAt = 0;
  return () => {
    const now = (options.now?.() ?? new Date()).getTime();
    if (!token || now - madeAt > 10 * 60_000) {
      token = iamAuthToken(options);
      madeAt = now;
    }
    return token;
  };
}
