import { createSecretKey } from 'node:crypto';
import { type Identity, isUserId, type Role } from '@flashcase/telemetry';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyOptions,
  type JWTVerifyResult,
  jwtVerify,
} from 'jose';
import { VerifiedCache } from './verified-cache';

/** Why a token was refused; the message is safe to show the client. */
export class TokenError extends Error {
  override readonly name = 'TokenError';
}

/** Turns a bearer token into the caller it names, or rejects with a TokenError. */
export interface Verifier {
  verify(token: string): Promise<Identity>;
}

/** Clock skew tolerated on `exp` and `nbf`, either way. */
export const CLOCK_SKEW_S = 30;

/** What a token with `JWT_SECRET` may be signed with: `none` and every other algorithm are refused. */
export const HMAC_ALGORITHMS: readonly string[] = Object.freeze(['HS256']);

/** What a token from a `JWT_JWKS_URL` issuer may be signed with (asymmetric only: no HS* or `none`). */
export const JWKS_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'PS256',
  'EdDSA',
]);

type VerifyToken = (token: string, options: JWTVerifyOptions) => Promise<JWTVerifyResult>;
type Explain = (err: unknown, token: string) => TokenError;

/** The jose error code of `err` (`ERR_JWT_EXPIRED`...), if it is one. */
function joseCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The claim a jose claim-validation error is about (`exp`, `nbf`...). */
function failedClaim(err: unknown): string | undefined {
  const claim = (err as { claim?: unknown } | null)?.claim;
  return typeof claim === 'string' ? claim : undefined;
}

/** The refusal for a token whose `alg` was not accepted, or a malformed one. */
function algorithmRefusal(token: string, accepted: readonly string[]): TokenError {
  if (token.split('.').length === 3) {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return new TokenError('Malformed token');
    }
    if (typeof alg !== 'string' || !accepted.includes(alg)) {
      return new TokenError(`Unsupported token algorithm ${String(alg).slice(0, 16)}`);
    }
  }
  return new TokenError('Malformed token');
}

/** HS256 refusals say why: the client holds a token our own secret signed, or a bad copy of one. */
function explainHmacRefusal(err: unknown, token: string): TokenError {
  switch (joseCode(err)) {
    case 'ERR_JWT_EXPIRED':
      return new TokenError('Token expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = failedClaim(err);
      if (claim === 'exp') return new TokenError('Token has no expiry (exp)');
      if (claim === 'nbf') return new TokenError('Token not yet valid');
      return new TokenError('Invalid token');
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new TokenError('Invalid token signature');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JWS_INVALID':
      return algorithmRefusal(token, HMAC_ALGORITHMS);
    case 'ERR_JWT_INVALID':
      return new TokenError('Malformed token');
    default:
      return new TokenError('Invalid token');
  }
}

/** JWKS refusals name only an expired token or a missing `exp`; anything else is "Invalid token". */
function explainJwksRefusal(err: unknown): TokenError {
  const code = joseCode(err);
  if (code === 'ERR_JWT_EXPIRED') return new TokenError('Token expired');
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && failedClaim(err) === 'exp') {
    return new TokenError('Token has no expiry (exp)');
  }
  return new TokenError('Invalid token');
}

/** The caller a verified token names: `sub` must be a sane user id; `role` is `admin` or `user`. */
function identityFrom(claims: JWTPayload): Identity {
  if (typeof claims.sub !== 'string' || !isUserId(claims.sub)) {
    throw new TokenError('Token subject (sub) missing or invalid');
  }
  const role: Role = claims.role === 'admin' ? 'admin' : 'user';
  return Object.freeze({ id: claims.sub, role });
}

/**
 * Verification through jose, the same for every key source: only `algorithms`, `exp` required,
 * `exp` and `nbf` checked with CLOCK_SKEW_S of leeway, then a verified-token cache in front.
 */
abstract class JoseVerifier implements Verifier {
  private readonly cache = new VerifiedCache(CLOCK_SKEW_S);

  protected constructor(
    private readonly verifyToken: VerifyToken,
    private readonly algorithms: readonly string[],
    private readonly explain: Explain,
  ) {}

  async verify(token: string): Promise<Identity> {
    const nowMs = Date.now();
    const cached = this.cache.get(token, nowMs / 1000);
    if (cached) return cached;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await this.verifyToken(token, {
        algorithms: [...this.algorithms],
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_SKEW_S,
        // Date.now(), not jose's `new Date()`: the cache and the claims read one clock.
        currentDate: new Date(nowMs),
      }));
    } catch (err) {
      throw this.explain(err, token);
    }
    const identity = identityFrom(claims);
    // jose checked `exp` is present and a number (requiredClaims).
    this.cache.set(token, { identity, expS: claims.exp as number });
    return identity;
  }
}

/**
 * HS256 verification with `JWT_SECRET`. Only `alg: HS256` is accepted: `none`, RS256-with-the-secret-
 * as-key and the rest are refused, and so is a token without `exp`. Refusals say why (expired, bad
 * signature, unsupported algorithm, malformed).
 */
export class HmacVerifier extends JoseVerifier {
  constructor(secret: string) {
    // A KeyObject, not the bytes: jose caches the CryptoKey it derives from a KeyObject.
    const key = createSecretKey(Buffer.from(secret, 'utf8'));
    super((token, options) => jwtVerify(token, key, options), HMAC_ALGORITHMS, explainHmacRefusal);
  }
}

/**
 * Verification against the keys published at `JWT_JWKS_URL` (jose fetches and caches the key set and
 * refetches it for an unknown `kid`). Asymmetric algorithms only (JWKS_ALGORITHMS); `exp` required.
 */
export class JwksVerifier extends JoseVerifier {
  constructor(url: string) {
    const keys = createRemoteJWKSet(new URL(url));
    super((token, options) => jwtVerify(token, keys, options), JWKS_ALGORITHMS, explainJwksRefusal);
  }
}
