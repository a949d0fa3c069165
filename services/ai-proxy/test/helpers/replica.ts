import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '@flashcase/testkit';
import { INTERNAL_TOKEN } from './harness';

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
