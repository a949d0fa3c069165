import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { benchUserToken } from '../../src/targets/token.ts';

describe('bench user token', () => {
  it('is an HS256 JWT over sub, role and exp, signed with the secret', () => {
    const token = benchUserToken('s3cret', 'bench', 600);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'bench', role: 'user' });
    expect(claims.exp - claims.iat).toBe(600);
    expect(Math.abs(claims.iat - Date.now() / 1000)).toBeLessThan(5);
    expect(signature).toBe(createHmac('sha256', 's3cret').update(`${header}.${payload}`).digest('base64url'));
  });
});
