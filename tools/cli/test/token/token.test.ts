import { deleteKeys, type ServiceProcess, startService } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/monitor/options';
import { parseTokenArgs, TOKEN_USAGE } from '../../src/token/options';
import { JWT_SECRET, REDIS_URL, runCli } from '../helpers/stack';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

describe('pnpm run token arguments', () => {
  it('mints a user token for 24 hours unless told otherwise', () => {
    expect(parseTokenArgs(['--user', 'alice'])).toEqual({ user: 'alice', role: 'user', ttlS: 86_400 });
    expect(parseTokenArgs(['--', '--user', 'ops', '--role', 'admin', '--ttl', '600'])).toEqual({
      user: 'ops',
      role: 'admin',
      ttlS: 600,
    });
  });

  it('refuses a missing or unusable user, an unknown role and a ttl that is not whole positive seconds', () => {
    const refusal = (argv: string[]) => {
      try {
        parseTokenArgs(argv);
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      throw new Error(`accepted ${argv.join(' ')}`);
    };
    expect(refusal([])).toBe(TOKEN_USAGE);
    expect(refusal(['--user'])).toBe(TOKEN_USAGE);
    expect(refusal(['--user', 'has spaces'])).toBe(TOKEN_USAGE);
    expect(refusal(['--user', 'u'.repeat(129)])).toBe(TOKEN_USAGE);
    expect(refusal(['--user', 'alice', '--role', 'root'])).toBe('--role must be user or admin');
    for (const ttl of ['0', '-5', '1.5', 'soon']) {
      expect(refusal(['--user', 'alice', '--ttl', ttl])).toBe('--ttl must be a positive number of seconds');
    }
  });
});

describe('pnpm run token', () => {
  const prefix = `flashcase-test:cli-token:${process.pid}:${Math.random().toString(36).slice(2)}:`;
  let gateway: ServiceProcess;
  beforeAll(async () => {
    gateway = await startService('gateway', { REDIS_URL, REDIS_KEY_PREFIX: prefix, JWT_SECRET }, { timeoutMs: 60_000 });
  });
  afterAll(async () => {
    await gateway?.stop();
    await deleteKeys(REDIS_URL, prefix);
  });

  const stats = (token: string) =>
    fetch(`${gateway.base}/api/v1/internal/stats`, { headers: { authorization: `Bearer ${token}` } });

  it('prints a token the gateway accepts, with the role and lifetime asked for', async () => {
    const admin = await runCli('token', ['--user', 'ops', '--role', 'admin', '--ttl', '600'], { JWT_SECRET });
    expect(admin.code, admin.stderr).toBe(0);
    const token = admin.stdout.trim();
    expect(admin.stdout).toBe(`${token}\n`);
    const claims = claimsOf(token);
    expect(claims).toMatchObject({ sub: 'ops', role: 'admin' });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(600);
    expect((await stats(token)).status).toBe(200);

    const user = await runCli('token', ['--user', 'student-1'], { JWT_SECRET });
    expect(user.code, user.stderr).toBe(0);
    expect(claimsOf(user.stdout.trim())).toMatchObject({ sub: 'student-1', role: 'user' });
    expect(Number(claimsOf(user.stdout.trim()).exp) - Number(claimsOf(user.stdout.trim()).iat)).toBe(86_400);
    // Accepted (it is a valid token), but only an admin reads the stats.
    expect((await stats(user.stdout.trim())).status).toBe(403);
  });

  it('signs with the development secret when none is set, which a gateway with its own secret refuses', async () => {
    const dev = await runCli('token', ['--user', 'alice'], {});
    expect(dev.code, dev.stderr).toBe(0);
    expect((await stats(dev.stdout.trim())).status).toBe(401);
  });

  it('exits 2 with the usage on bad arguments and 1 when there is no secret to sign with', async () => {
    const bad = await runCli('token', ['--role', 'admin'], { JWT_SECRET });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`${TOKEN_USAGE}\n`);
    expect(bad.stdout).toBe('');

    const jwks = await runCli('token', ['--user', 'alice'], { JWT_JWKS_URL: 'https://issuer.example/jwks.json' });
    expect(jwks.code).toBe(1);
    expect(jwks.stderr).toContain('JWT_SECRET is not set');

    const production = await runCli('token', ['--user', 'alice'], { ENVIRONMENT: 'production' });
    expect(production.code).toBe(1);
    expect(production.stderr).toMatch(/^token: .*JWT_SECRET/);
  });
});
