import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { SERVICE_NODE_OPTIONS } from '@flashcase/config';
import { freePort } from './ports';

/** The three deployables a test can start. */
export type ServiceName = 'gateway' | 'ai-proxy' | 'alerting';

/** A service running as a child process, as production runs it. */
export interface ServiceProcess {
  child: ChildProcess;
  base: string;
  port: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, and waits for the exit (a graceful stop: in-flight work drains, leases are released). */
  stop(): Promise<number | null>;
  /** SIGKILL, and waits for the exit (a crash: nothing is cleaned up). */
  kill(): Promise<number | null>;
}

export interface StartServiceOptions {
  /** Listen on this port (a restart on the same address); default a free loopback port. */
  port?: number;
  /** How long to wait for the "listening" line. Default 60 s (a busy CI host starts slowly). */
  timeoutMs?: number;
  /** Flags for node itself, before the script (e.g. `--inspect=127.0.0.1:0` for a leak check). */
  nodeArgs?: string[];
}

/** `services/<name>/dist/main.js` of this repository. */
export function serviceMain(name: ServiceName): string {
  return join(__dirname, '../../../services', name, 'dist/main.js');
}

/**
 * Starts a built service exactly as production does (`node services/<name>/dist/main.js`) on a
 * loopback port, configured by `env` only (plus PATH, `ENVIRONMENT=test`, `METRICS_PORT=0` and the
 * services' `NODE_OPTIONS` unless given), and waits for its "<name> listening" log line. Throws with
 * the output when it exits or does not come up in time.
 */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  { port, timeoutMs = 60_000, nodeArgs = [] }: StartServiceOptions = {},
): Promise<ServiceProcess> {
  const listenPort = port ?? (await freePort());
  const child = spawn(process.execPath, [...nodeArgs, serviceMain(name)], {
    env: {
      PATH: process.env.PATH,
      METRICS_PORT: '0',
      ENVIRONMENT: 'test',
      NODE_OPTIONS: SERVICE_NODE_OPTIONS,
      ...env,
      PORT: String(listenPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + timeoutMs;
  while (!output.includes(`${name} listening`)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const exit = (signal: NodeJS.Signals) =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill(signal);
    });
  return {
    child,
    port: listenPort,
    base: `http://127.0.0.1:${listenPort}`,
    output: () => output,
    stop: () => exit('SIGTERM'),
    kill: () => exit('SIGKILL'),
  };
}

/** Every rate limit off: for tests whose traffic is not about limits (the variables as a service reads them). */
export const RATE_LIMITS_OFF: Readonly<Record<string, string>> = Object.freeze({
  RATE_LIMIT_AI_PER_MINUTE: '0',
  RATE_LIMIT_AI_PER_HOUR: '0',
  RATE_LIMIT_GENERAL_PER_MINUTE: '0',
  RATE_LIMIT_GENERAL_PER_HOUR: '0',
});
