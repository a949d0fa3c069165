import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Identity, Role } from '@flashcase/telemetry';

/** Why a token was refused; the message is safe to show the client. */
export class TokenError extends Error {
  override readonly name = 'TokenError';
}

export interface Verifier {
  verify(token: string): Promise<Identity>;
}

interface Claims {
  sub?: unknown;
  role?: unknown;
  exp?: unknown;
  nbf?: unknown;
}

const CLOCK_SKEW_S = 30;
const CACHE_SIZE = 10_000;

function base64urlJson(part: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new TokenError('Malformed token');
}

function identityFrom(claims: Claims, nowS: number): { identity: Identity; expS: number } {
  if (typeof claims.exp !== 'number') throw new TokenError('Token has no expiry (exp)');
  if (claims.exp + CLOCK_SKEW_S <= nowS) throw new TokenError('Token expired');
  if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_S > nowS) throw new TokenError('Token not yet valid');
  if (typeof claims.sub !== 'string' || !/^[A-Za-z0-9._:@|-]{1,128}$/.test(claims.sub)) {
    throw new TokenError('Token subject (sub) missing or invalid');
  }
  const role: Role = claims.role === 'admin' ? 'admin' : 'user';
  return { identity: Object.freeze({ id: claims.sub, role }), expS: claims.exp };
}

/**
 * Remembers verified tokens until they expire (bounded, oldest evicted first): a client sends the
 * same token on every call, and verifying once is enough. `exp` is re-checked on every hit.
 */
class VerifiedCache {
  private readonly entries = new Map<string, { identity: Identity; expS: number }>();

  get(token: string, nowS: number): Identity | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.expS + CLOCK_SKEW_S <= nowS) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.identity;
  }

  set(token: string, value: { identity: Identity; expS: number }): void {
    if (this.entries.size >= CACHE_SIZE) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(token, value);
  }
}

/**
 * HS256 verification with `JWT_SECRET` (node:crypto, constant-time compare). Only `alg: HS256` is
 * accepted: `none`, RS256-with-the-secret-as-key and the rest are refused. `exp` is required.
 */
export class HmacVerifier implements Verifier {
  private readonly cache = new VerifiedCache();

  constructor(private readonly secret: string) {}

  async verify(token: string): Promise<Identity> {
    const nowS = Date.now() / 1000;
    const cached = this.cache.get(token, nowS);
    if (cached) return cached;
    const parts = token.split('.');
    if (parts.length !== 3) throw new TokenError('Malformed token');
    const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
    const header = base64urlJson(headerPart);
    if (header.alg !== 'HS256') throw new TokenError(`Unsupported token algorithm ${String(header.alg).slice(0, 16)}`);
    const expected = createHmac('sha256', this.secret).update(`${headerPart}.${payloadPart}`).digest();
    const given = Buffer.from(signaturePart, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new TokenError('Invalid token signature');
    }
    const verified = identityFrom(base64urlJson(payloadPart) as Claims, nowS);
    this.cache.set(token, verified);
    return verified.identity;
  }
}

/** Verification against the keys published at `JWT_JWKS_URL` (RS256/ES256/EdDSA, cached by jose). */
export class JwksVerifier implements Verifier {
  private readonly cache = new VerifiedCache();
  private readonly jwks: Promise<{
    jwtVerify: typeof import('jose').jwtVerify;
    keys: ReturnType<typeof import('jose').createRemoteJWKSet>;
  }>;

  constructor(url: string) {
    this.jwks = import('jose').then((jose) => ({
      jwtVerify: jose.jwtVerify,
      keys: jose.createRemoteJWKSet(new URL(url)),
    }));
  }

  async verify(token: string): Promise<Identity> {
    const nowS = Date.now() / 1000;
    const cached = this.cache.get(token, nowS);
    if (cached) return cached;
    const { jwtVerify, keys } = await this.jwks;
    let claims: Claims;
    try {
      ({ payload: claims } = await jwtVerify(token, keys, {
        algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256', 'EdDSA'],
        clockTolerance: CLOCK_SKEW_S,
      }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new TokenError(code === 'ERR_JWT_EXPIRED' ? 'Token expired' : 'Invalid token');
    }
    const verified = identityFrom(claims, nowS);
    this.cache.set(token, verified);
    return verified.identity;
  }
}

/** Signs an HS256 development token (`pnpm token`); `ttlS` defaults to 24 hours. */
export function signDevToken(secret: string, userId: string, role: Role = 'user', ttlS = 86_400): string {
  const nowS = Math.floor(Date.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ sub: userId, role, iat: nowS, exp: nowS + ttlS })).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}
