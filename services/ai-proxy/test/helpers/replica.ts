import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { UsageDialect } from '@flashcase/fake-openai';
import { freePort } from '@flashcase/testkit';
import { API_KEY, INTERNAL_TOKEN, REDIS_URL } from './harness';

const MAIN = join(__dirname, '../../dist/main.js');

/** One ai-proxy started the way production starts it (`node dist/main.js`, configured by env). */
export interface Replica {
  child: ChildProcess;
  base: string;
  output: string;
}

/** Starts a replica and waits for its "listening" line (20 s at most). */
export async function startReplica(env: Record<string, string>): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const replica: Replica = { child, base: `http://127.0.0.1:${port}`, output: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    replica.output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    replica.output += chunk.toString();
  });
  const deadline = Date.now() + 20_000;
  while (!replica.output.includes('ai-proxy listening')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`replica did not start:\n${replica.output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return replica;
}

/** Stops replicas (SIGCONT first, in case one is frozen) and waits for them to exit. */
export async function stopReplicas(replicas: readonly Replica[], signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  for (const r of replicas) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGCONT');
      r.child.kill(signal);
    }
  }
  await Promise.all(
    replicas.map(
      (r) =>
        new Promise((resolve) =>
          r.child.exitCode !== null || r.child.signalCode !== null ? resolve(null) : r.child.once('exit', resolve),
        ),
    ),
  );
}

/** Headers the gateway would send for `userId`. */
export function asUser(userId: string, role: 'user' | 'admin' = 'user'): Record<string, string> {
  return { 'x-internal-token': INTERNAL_TOKEN, 'x-flashcase-user-id': userId, 'x-flashcase-user-role': role };
}

/**
 * A replica's environment on the shared test Redis under `prefix`, with `upstreamUrl` (the fake's
 * `url`) as its provider and the AI limits off; `extra` adds or overrides variables.
 */
export function replicaEnv(
  prefix: string,
  upstreamUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ENVIRONMENT: 'test',
    LOG_LEVEL: 'info',
    METRICS_PORT: '0',
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    XAI_API_KEY: API_KEY,
    XAI_BASE_URL: upstreamUrl,
    INTERNAL_TOKEN,
    RATE_LIMIT_AI_PER_MINUTE: '0',
    RATE_LIMIT_AI_PER_HOUR: '0',
    ...extra,
  };
}

/** A fake's `dialectOf` that answers xAI's and OpenAI's usage in turn, call by call. */
export function alternatingDialects(): () => UsageDialect {
  let n = 0;
  return () => (n++ % 2 === 0 ? 'xai' : 'openai');
}
