import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWTPayload } from "jose";
import { Order } from "@flash/core/domain/order";
import type { Route } from "./gateway";

/** The audience the dev issuer's tokens carry unless AUTH_JWT_AUDIENCE names others. */
export const DEV_AUDIENCE = "flash-sale-local";

/** Where the local profile serves its dev issuer (AUTH_DEV_ISSUER=1); never routes of the deployed API. */
export const DEV_ISSUER_PATHS = {
  configuration: "/.well-known/openid-configuration",
  jwks: "/.well-known/jwks.json",
  /** POST {user_id, ttl_seconds?}: a token for that buyer (local development only: anyone who can reach it may ask). */
  token: "/.well-known/dev-token",
} as const;

const MAX_TTL_SECONDS = 86_400;

export interface DevToken {
  token: string;
  token_type: "Bearer";
  user_id: string;
  issuer: string;
  audience: string;
  expires_at: string;
}

/**
 * A token issuer for the local profile, so buyer identity can be tried without an identity provider: an RSA key
 * pair made at start (gone when the process stops), its public key served as a JWKS, and tokens signed for any user.
 * The issuer is the engine's URL, known once the gateway listens (setIssuer).
 */
export class DevIssuer {
  private issuerUrl: string | undefined;

  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicJwk: JSONWebKeySet["keys"][number],
    readonly audience: readonly string[],
    /** The claim that names the buyer (AUTH_USER_CLAIM); tokens carry the user there, and in `sub`. */
    readonly userClaim: string,
  ) {}

  static async create(options: { audience?: readonly string[]; userClaim?: string } = {}): Promise<DevIssuer> {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: randomUUID(), alg: "RS256", use: "sig" };
    return new DevIssuer(privateKey, jwk, options.audience?.length ? options.audience : [DEV_AUDIENCE], options.userClaim ?? "sub");
  }

  get issuer(): string {
    if (!this.issuerUrl) throw new Error("the dev issuer has no URL yet");
    return this.issuerUrl;
  }

  setIssuer(url: string): void {
    this.issuerUrl = url.replace(/\/+$/, "");
  }

  jwks(): JSONWebKeySet {
    return { keys: [this.publicJwk] };
  }

  /**
   * Sign any claims (tests use it for expired tokens, other audiences, ...). Defaults: this issuer, the first
   * audience, issued now, valid an hour; a claim given here wins.
   */
  async sign(claims: JWTPayload & Record<string, unknown> = {}, header: { kid?: string } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: this.issuer, aud: this.audience[0], iat: now, exp: now + 3600, jti: randomUUID(), ...claims };
    return new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: this.publicJwk.kid!, ...header }).sign(this.privateKey);
  }

  /** A token naming this buyer, as an identity provider would hand it to a storefront after sign-in. */
  async token(userId: string, ttlSeconds = 3600): Promise<DevToken> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + ttlSeconds;
    const token = await this.sign({ sub: userId, [this.userClaim]: userId, iat: now, exp });
    return { token, token_type: "Bearer", user_id: userId, issuer: this.issuer, audience: this.audience[0]!, expires_at: new Date(exp * 1000).toISOString() };
  }

  /** The gateway routes that serve it: discovery document and key set to anyone, tokens to the operator only. */
  routes(): Route[] {
    const json = (statusCode: number, body: unknown) => ({ statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return [
      {
        method: "GET",
        path: DEV_ISSUER_PATHS.configuration,
        handler: async () => json(200, { issuer: this.issuer, jwks_uri: this.issuer + DEV_ISSUER_PATHS.jwks, id_token_signing_alg_values_supported: ["RS256"] }),
      },
      { method: "GET", path: DEV_ISSUER_PATHS.jwks, handler: async () => json(200, this.jwks()) },
      {
        method: "POST",
        path: DEV_ISSUER_PATHS.token,
        // Open, like any dev sign-in page: the storefront signs a shopper in with it, and a browser holds no admin
        // token. It exists only in the local profile with AUTH_DEV_ISSUER=1, which listens on loopback.
        admin: false,
        handler: async (event) => {
          let body: { user_id?: unknown; ttl_seconds?: unknown } = {};
          try {
            body = JSON.parse(event.body ?? "{}");
          } catch {
            return json(400, { error: "validation_failed", errors: [{ field: "body", message: "is not valid JSON" }] });
          }
          const user = Order.id.safeParse(body?.user_id);
          const ttl = body?.ttl_seconds ?? 3600;
          const errors = [
            ...(user.success ? [] : [{ field: "user_id", message: "must be 1-100 characters of A-Z a-z 0-9 _ -" }]),
            ...(Number.isInteger(ttl) && (ttl as number) >= 1 && (ttl as number) <= MAX_TTL_SECONDS
              ? []
              : [{ field: "ttl_seconds", message: `must be an integer 1-${MAX_TTL_SECONDS}` }]),
          ];
          if (errors.length) return json(400, { error: "validation_failed", errors });
          return json(200, await this.token(user.data!, ttl as number));
        },
      },
    ];
  }
}
