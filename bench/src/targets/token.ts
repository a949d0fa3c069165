/**
 * The bench user's JWT, minted here rather than through the gateway's token tool so the bench
 * depends only on the gateway's wire contract (HS256 with `sub`, `role`, `exp`), not on where that
 * tool lives.
 */
import { createHmac } from 'node:crypto';

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An HS256 JWT for `userId` with the `user` role, valid for `ttlS` seconds from now. */
export function benchUserToken(secret: string, userId: string, ttlS = 86_400): string {
  const issuedAt = Math.floor(Date.now() / 1000);
  const signingInput = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: userId, role: 'user', iat: issuedAt, exp: issuedAt + ttlS })}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}
