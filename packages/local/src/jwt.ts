import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";

/**
 * The local gateway's stand-in for API Gateway's HTTP API JWT authorizer, with the rules AWS documents for it:
 * the token is the whole Authorization header or follows "Bearer "; it is signed with an RSA algorithm by a key of
 * the issuer's key set, named by the token's `kid`; `iss` equals the issuer exactly; `aud` names one of the
 * audiences, or, only when there is no `aud`, `client_id` does; `exp` is in the future; `nbf` and `iat`, when
 * present, are not. Anything else is answered 401 {"message":"Unauthorized"}, before the function runs.
 */
export interface JwtAuthorizerSettings {
  issuer: string;
  audience: readonly string[];
  /** The issuer's key set: a URL (fetched and cached, refetched for an unknown kid), or the keys themselves. */
  jwks?: string | JSONWebKeySet;
}

/** The claims as API Gateway hands them to the function: every value a string. */
export type Claims = Record<string, string>;

export type Authorization = { ok: true; claims: Claims; scopes: string[] | null } | { ok: false; reason: string };

/** RSA-based algorithms only, as API Gateway supports. */
export const RSA_ALGORITHMS = ["RS256", "RS384", "RS512"];

export class JwtAuthorizer {
  readonly issuer: string;
  readonly audience: readonly string[];
  private keys: Promise<Parameters<typeof jwtVerify>[1]> | undefined;

  constructor(private readonly settings: JwtAuthorizerSettings) {
    if (!settings.audience.length) throw new Error("a JWT authorizer needs at least one audience");
    this.issuer = settings.issuer;
    this.audience = settings.audience;
  }

  /** Authorize one request by its Authorization header. Never throws: a failure is a reason to answer 401. */
  async authorize(header: string | undefined): Promise<Authorization> {
    const token = header?.trim().replace(/^Bearer\s+/i, "");
    if (!token) return { ok: false, reason: "the token is missing" };
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return { ok: false, reason: "the token is not a JWT" };
    }
    if (!kid) return { ok: false, reason: "the token has no kid" };
    let payload: JWTPayload;
    try {
      const keys = await this.keySet();
      ({ payload } = await jwtVerify(token, keys, { issuer: this.issuer, algorithms: RSA_ALGORITHMS, requiredClaims: ["exp"] }));
    } catch (err) {
      return { ok: false, reason: describe(err) };
    }
    const audiences = payload.aud !== undefined ? [payload.aud].flat() : payload.client_id !== undefined ? [String(payload.client_id)] : [];
    if (!audiences.some((a) => this.audience.includes(a))) return { ok: false, reason: "the token does not have a valid audience" };
    if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000) return { ok: false, reason: "the token was issued in the future" };
    // The routes require no authorization scopes, and API Gateway passes null scopes then.
    return { ok: true, claims: asStrings(payload), scopes: null };
  }

  /** The key set, resolved once: given, or found through the issuer's OpenID configuration (as API Gateway does). */
  private keySet(): Promise<Parameters<typeof jwtVerify>[1]> {
    this.keys ??= (async () => {
      const jwks = this.settings.jwks;
      if (typeof jwks === "object") return createLocalJWKSet(jwks);
      const url = jwks ?? (await discoverJwksUri(this.issuer));
      return createRemoteJWKSet(new URL(url));
    })();
    // A failed discovery is tried again by the next request, not remembered.
    this.keys.catch(() => (this.keys = undefined));
    return this.keys;
  }
}

async function discoverJwksUri(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  const { jwks_uri } = (await res.json()) as { jwks_uri?: unknown };
  if (typeof jwks_uri !== "string") throw new Error(`${url} names no jwks_uri`);
  return jwks_uri;
}

/** API Gateway passes each claim as a string: numbers as digits, lists in brackets separated by spaces. */
function asStrings(payload: JWTPayload): Claims {
  const claims: Claims = {};
  for (const [name, value] of Object.entries(payload)) {
    if (value === undefined || value === null) continue;
    claims[name] = Array.isArray(value) ? `[${value.join(" ")}]` : typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return claims;
}

function describe(err: unknown): string {
  const code = (err as { code?: string }).code;
  const claim = (err as { claim?: string }).claim;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "the token has expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return claim === "iss" ? "the token does not have a valid issuer" : `the token's ${claim ?? "claims"} claim is not valid`;
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "the token is not signed with an RSA algorithm";
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "no key of the issuer matches the token's kid";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "the token's signature is not valid";
    default:
      return code ? `the token could not be verified (${code})` : `the issuer's keys could not be read (${(err as Error).message})`;
  }
}
