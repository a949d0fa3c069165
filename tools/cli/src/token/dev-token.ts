import { createHmac } from 'node:crypto';

/**
 * An HS256 development JWT (`sub`, `role`, `iat`, `exp`), what `pnpm run token` prints, signed with
 * the gateway's `JWT_SECRET` (or its development default, from @flashcase/config). Synchronous
 * node:crypto rather than jose's async signer: loadgen mints hundreds of tokens up front.
 */
export function signDevToken(secret: string, userId: string, role: 'user' | 'admin', ttlS: number): string {
  const nowS = Math.floor(Date.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ sub: userId, role, iat: nowS, exp: nowS + ttlS })).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}
