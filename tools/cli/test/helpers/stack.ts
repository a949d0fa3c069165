import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { deleteKeys, type ServiceProcess, startService } from '@flashcase/testkit';
import type { Usage } from '../../src/gateway/usage';
import { signDevToken } from '../../src/token/dev-token';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const JWT_SECRET = 'cli-test-secret-0123456789abcdef-0123456789abcdef';

export interface Stack {
  base: string;
  admin: string;
  token(user: string, role?: 'user' | 'admin', ttlS?: number): string;
  usage(): Promise<Usage>;
  close(): Promise<void>;
}

/**
 * A running gateway in front of a running ai-proxy (both `node services/<name>/dist/main.js`, the
 * simulated provider with no latency), on the real Redis under a key prefix of their own.
 */
export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const prefix = `flashcase-test:cli:${process.pid}:${Math.random().toString(36).slice(2)}:`;
  const shared = { REDIS_URL, REDIS_KEY_PREFIX: prefix, JWT_SECRET, INTERNAL_TOKEN: 'cli-test-internal-token', ...env };
  let aiProxy: ServiceProcess | undefined;
  let gateway: ServiceProcess | undefined;
  try {
    // Generous start-up time: a full `pnpm test` runs every package's suite at once on few cores.
    const timeoutMs = 60_000;
    aiProxy = await startService(
      'ai-proxy',
      { ...shared, AI_PROVIDER: 'simulated', AI_SIMULATED_LATENCY_MS: '0' },
      { timeoutMs },
    );
    gateway = await startService('gateway', { ...shared, AI_PROXY_URL: aiProxy.base }, { timeoutMs });
  } catch (err) {
    await aiProxy?.stop();
    throw err;
  }
  const base = gateway.base;
  const token = (user: string, role: 'user' | 'admin' = 'user', ttlS = 600) =>
    signDevToken(JWT_SECRET, user, role, ttlS);
  const admin = token('ops', 'admin');
  return {
    base,
    admin,
    token,
    async usage() {
      const res = await fetch(`${base}/api/v1/ai/usage`, { headers: { authorization: `Bearer ${admin}` } });
      if (!res.ok) throw new Error(`usage answered ${res.status}`);
      return (await res.json()) as Usage;
    },
    async close() {
      await gateway?.stop();
      await aiProxy?.stop();
      await deleteKeys(REDIS_URL, prefix);
    },
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a built tool (`dist/<tool>/main.js`) the way `pnpm monitor`, `pnpm loadgen`, `pnpm reconcile` and `pnpm run token` do. */
export function runCli(
  tool: 'monitor' | 'loadgen' | 'reconcile' | 'token',
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<CliRun> {
  const main = join(__dirname, '../../dist', tool, 'main.js');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code as number | null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

/** Sends a few AI calls as `user` and waits for each answer. */
export async function traffic(stack: Stack, user: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${stack.base}/api/v1/ai/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.token(user)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: `card ${i}: what is osmosis?` }] }),
    });
    if (res.status !== 200) throw new Error(`chat answered ${res.status}`);
    await res.arrayBuffer();
  }
}
