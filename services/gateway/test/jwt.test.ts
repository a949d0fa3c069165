import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HmacVerifier, JwksVerifier, signDevToken } from '../src/auth/jwt';

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
});
