import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '@flashcase/testkit';

export interface ServiceProcess {
  child: ChildProcess;
  base: string;
  port: number;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts a built service exactly as production does (`node services/<name>/dist/main.js`) on a free
 * loopback port, and waits for its "listening" log line.
 */
export async function startService(
  name: 'gateway' | 'ai-proxy' | 'alerting',
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const port = await freePort();
  const main = join(__dirname, '../../..', name, 'dist/main.js');
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH, METRICS_PORT: '0', ENVIRONMENT: 'test', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 20_000;
  while (!output.includes(`${name} listening`)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name} did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    child,
    port,
    base: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}
