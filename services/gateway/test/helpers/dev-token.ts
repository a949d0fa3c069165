import { createHmac } from 'node:crypto';
import type { Role } from '@flashcase/telemetry';

/**
 * An HS256 token (`sub`, `role`, `iat`, `exp`) as `pnpm run token` mints it, signed here with
 * node:crypto, apart from the jose verifier under test, and synchronously, so a test can build one
 * inline. `ttlS` defaults to 24 hours; a negative one gives an already expired token.
 */
export function signDevToken(secret: string, userId: string, role: Role = 'user', ttlS = 86_400): string {
  const nowS = Math.floor(Date.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ sub: userId, role, iat: nowS, exp: nowS + ttlS })).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}
