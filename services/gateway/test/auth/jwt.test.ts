import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HmacVerifier, JwksVerifier, TokenError } from '../../src/auth/jwt';
import { signDevToken } from '../helpers/dev-token';

const SECRET = 'unit-test-secret-unit-test-secret-0123';

describe('HS256 verification', () => {
  const verifier = new HmacVerifier(SECRET);

  it('accepts a token signed with the secret and reads sub and role', async () => {
    expect(await verifier.verify(signDevToken(SECRET, 'alice', 'admin'))).toEqual({ id: 'alice', role: 'admin' });
    expect(await verifier.verify(signDevToken(SECRET, 'bob'))).toEqual({ id: 'bob', role: 'user' });
  });

  it('refuses other secrets, expired tokens and tampered payloads', async () => {
    await expect(verifier.verify(signDevToken('another-secret-another-secret-0123', 'alice'))).rejects.toThrow(
      /signature/,
    );
    await expect(verifier.verify(signDevToken(SECRET, 'alice', 'user', -120))).rejects.toThrow(/expired/);
    const [h, , s] = signDevToken(SECRET, 'alice').split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'alice', role: 'admin', exp: 9_999_999_999 })).toString(
      'base64url',
    );
    await expect(verifier.verify(`${h}.${forged}.${s}`)).rejects.toThrow(/signature/);
  });

  it('stops honouring a cached token once it expires', async () => {
    const token = signDevToken(SECRET, 'carol', 'user', 31);
    expect((await verifier.verify(token)).id).toBe('carol');
    const realNow = Date.now;
    Date.now = () => realNow() + 120_000;
    try {
      await expect(verifier.verify(token)).rejects.toThrow(/expired/);
    } finally {
      Date.now = realNow;
    }
  });
});

describe('JWKS verification', () => {
  let server: Server;
  let url: string;
  let sign: (claims: Record<string, unknown>, kid?: string) => Promise<string>;

  beforeAll(async () => {
    const jose = await import('jose');
    const { privateKey, publicKey } = await jose.generateKeyPair('RS256');
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    sign = (claims, kid = 'k1') => new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('accepts RS256 tokens signed by a published key', async () => {
    const verifier = new JwksVerifier(url);
    const nowS = Math.floor(Date.now() / 1000);
    expect(await verifier.verify(await sign({ sub: 'dora', role: 'admin', exp: nowS + 60 }))).toEqual({
      id: 'dora',
      role: 'admin',
    });
  });

  it('refuses expired tokens, tokens without exp, unknown keys and HS256 tokens', async () => {
    const verifier = new JwksVerifier(url);
    const nowS = Math.floor(Date.now() / 1000);
    await expect(verifier.verify(await sign({ sub: 'dora', exp: nowS - 120 }))).rejects.toThrow(/expired/);
    await expect(verifier.verify(await sign({ sub: 'dora' }))).rejects.toThrow(/exp/);
    await expect(verifier.verify(await sign({ sub: 'dora', exp: nowS + 60 }, 'unknown-kid'))).rejects.toThrow();
    await expect(verifier.verify(signDevToken(SECRET, 'dora'))).rejects.toThrow();
  });

  it('refuses alg none, HS256 signed with the public key, and keys it did not publish', async () => {
    const jose = await import('jose');
    const verifier = new JwksVerifier(url);
    const nowS = Math.floor(Date.now() / 1000);
    const claims = { sub: 'mallory', role: 'admin', exp: nowS + 60 };
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    await expect(verifier.verify(`${part({ alg: 'none', kid: 'k1' })}.${part(claims)}.`)).rejects.toThrow(
      'Invalid token',
    );
    // The classic confusion: the published RSA key's bytes used as an HMAC secret.
    const published = await (await fetch(url)).text();
    const confused = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode(published));
    await expect(verifier.verify(confused)).rejects.toThrow('Invalid token');
    const stranger = await jose.generateKeyPair('RS256');
    const forged = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(stranger.privateKey);
    await expect(verifier.verify(forged)).rejects.toThrow('Invalid token');
  });

  it('allows 30 s of clock skew on exp, and no more', async () => {
    const verifier = new JwksVerifier(url);
    const nowS = Math.floor(Date.now() / 1000);
    expect((await verifier.verify(await sign({ sub: 'late', exp: nowS - 20 }))).id).toBe('late');
    await expect(verifier.verify(await sign({ sub: 'late', exp: nowS - 40 }))).rejects.toThrow('Token expired');
    await expect(verifier.verify(await sign({ sub: 'nothing' }))).rejects.toThrow('Token has no expiry (exp)');
  });
});

describe('HS256 refusals through jose', () => {
  const verifier = new HmacVerifier(SECRET);
  const nowS = () => Math.floor(Date.now() / 1000);
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const hmac = (header: object, claims: object, secret = SECRET) => {
    const signed = `${part(header)}.${part(claims)}`;
    return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
  };
  const refusal = async (token: string) => {
    const err = await verifier.verify(token).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TokenError);
    return (err as TokenError).message;
  };

  it('refuses alg none, unsigned or signed, with the algorithm named', async () => {
    const claims = { sub: 'mallory', role: 'admin', exp: nowS() + 60 };
    expect(await refusal(`${part({ alg: 'none' })}.${part(claims)}.`)).toBe('Unsupported token algorithm none');
    expect(await refusal(hmac({ alg: 'none' }, claims))).toBe('Unsupported token algorithm none');
  });

  it('refuses every algorithm but HS256, whatever the key', async () => {
    const claims = { sub: 'mallory', exp: nowS() + 60 };
    for (const alg of ['HS384', 'HS512', 'RS256', 'ES256', 'EdDSA']) {
      expect(await refusal(hmac({ alg, typ: 'JWT' }, claims))).toBe(`Unsupported token algorithm ${alg}`);
    }
    expect(await refusal(hmac({ typ: 'JWT' }, claims))).toBe('Unsupported token algorithm undefined');
  });

  it('refuses a token without exp, or with an exp that is not a number', async () => {
    expect(await refusal(hmac({ alg: 'HS256' }, { sub: 'u1' }))).toBe('Token has no expiry (exp)');
    expect(await refusal(hmac({ alg: 'HS256' }, { sub: 'u1', exp: 'tomorrow' }))).toBe('Token has no expiry (exp)');
  });

  it('allows 30 s of clock skew on exp and nbf, and no more', async () => {
    const now = nowS();
    expect((await verifier.verify(hmac({ alg: 'HS256' }, { sub: 'late', exp: now - 20 }))).id).toBe('late');
    expect(await refusal(hmac({ alg: 'HS256' }, { sub: 'late', exp: now - 40 }))).toBe('Token expired');
    expect((await verifier.verify(hmac({ alg: 'HS256' }, { sub: 'early', nbf: now + 20, exp: now + 60 }))).id).toBe(
      'early',
    );
    expect(await refusal(hmac({ alg: 'HS256' }, { sub: 'early', nbf: now + 40, exp: now + 60 }))).toBe(
      'Token not yet valid',
    );
  });

  it('refuses malformed tokens and a missing or unusable subject', async () => {
    const exp = nowS() + 60;
    expect(await refusal('only.two')).toBe('Malformed token');
    expect(await refusal(`not-json.${part({ sub: 'u1', exp })}.sig`)).toBe('Malformed token');
    expect(await refusal(hmac({ alg: 'HS256' }, ['not', 'an', 'object']))).toBe('Malformed token');
    expect(await refusal(hmac({ alg: 'HS256' }, { exp }))).toBe('Token subject (sub) missing or invalid');
    expect(await refusal(hmac({ alg: 'HS256' }, { sub: 'has spaces', exp }))).toBe(
      'Token subject (sub) missing or invalid',
    );
    expect(await refusal(hmac({ alg: 'HS256' }, { sub: 'u1', exp }, 'another-secret'))).toBe('Invalid token signature');
  });

  it('reads any role but admin as user', async () => {
    const exp = nowS() + 60;
    expect(await verifier.verify(hmac({ alg: 'HS256' }, { sub: 'u2', role: 'root', exp }))).toEqual({
      id: 'u2',
      role: 'user',
    });
  });
});
