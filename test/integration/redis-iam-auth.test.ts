import { describe, expect, inject, it } from "vitest";
import { SignatureV4 } from "@smithy/signature-v4";
import { HttpRequest } from "@smithy/protocol-http";
import { Sha256 } from "@aws-crypto/sha256-js";
import { Redis } from "ioredis";
import { iamAuthToken, iamPassword } from "@flash/core/adapters/redis/iam-auth";
import { connectRedis } from "@flash/core/adapters/redis/client";
import { waitFor } from "../support/fixtures";

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "session/token+=" };
const at = new Date("2026-11-22T20:45:00Z");
const options = { cacheName: "staging-flash-sale", userId: "flash-sale-functions", region: "eu-west-1", credentials, now: () => at };

describe("the ElastiCache IAM token", () => {
  it("is the presigned connect request AWS's own SigV4 signer produces", async () => {
    const signer = new SignatureV4({ service: "elasticache", region: options.region, credentials, sha256: Sha256 });
    const request = new HttpRequest({
      method: "GET", protocol: "http:", hostname: options.cacheName, path: "/",
      query: { Action: "connect", User: options.userId, ResourceType: "ServerlessCache" },
      headers: { host: options.cacheName },
    });
    const presigned = await signer.presign(request, { expiresIn: 900, signingDate: at });
    const ours = new URL(`http://${iamAuthToken(options)}`);
    expect(ours.host).toBe(options.cacheName);
    expect(Object.fromEntries(ours.searchParams)).toEqual(presigned.query);
  });

  it("is reused for ten minutes, then signed afresh (tokens last fifteen)", () => {
    let now = at.getTime();
    const password = iamPassword({ ...options, now: () => new Date(now) });
    const first = password();
    now += 9 * 60_000;
    expect(password()).toBe(first);
    now += 2 * 60_000;
    expect(password()).not.toBe(first);
    expect(password()).toContain("X-Amz-Date=20261122T205600Z");
  });
});

// On a real redis-server: an ACL user standing in for the ElastiCache IAM user (nopass: Redis cannot check a SigV4
// token, ElastiCache does). Every connection, the first and each reconnect, authenticates as that user.
describe.each(["standalone", "cluster"] as const)("connections with REDIS_IAM_USER on %s Redis", (kind) => {
  it("authenticate as the IAM user, again after the server drops them", async () => {
    const url = kind === "cluster" ? inject("redisClusterUrl") : inject("redisUrl");
    const admin = new Redis(url);
    const user = `iam-${kind}`;
    await admin.call("ACL", "SETUSER", user, "on", "nopass", "~*", "&*", "+@all");
    const redis = connectRedis({
      REDIS_URL: url, REDIS_CLUSTER: kind === "cluster" ? "true" : "false", REDIS_CONNECT_TIMEOUT_MS: 1000, REDIS_COMMAND_TIMEOUT_MS: 1000,
      REDIS_IAM_USER: user, REDIS_CACHE_NAME: "local-cache", AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "secret",
    });
    try {
      expect(await redis.call("ACL", "WHOAMI")).toBe(user);
      await admin.call("CLIENT", "KILL", "USER", user); // as ElastiCache does after 12 hours
      expect(await waitFor(async () => (await redis.call("ACL", "WHOAMI").catch(() => undefined)) as string | undefined, 5_000)).toBe(user);
    } finally {
      redis.disconnect();
      await admin.call("ACL", "DELUSER", user);
      admin.disconnect();
    }
  });
});
