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
  const started = await untilReady(child, (output) => output.includes(`${name} listening`), timeoutMs, name);
  return {
    child,
    port: listenPort,
    base: `http://127.0.0.1:${listenPort}`,
    output: started.output,
    stop: () => exitOn(child, 'SIGTERM'),
    kill: () => exitOn(child, 'SIGKILL'),
  };
}

/** A child process that printed what `ready` waits for: everything it printed so far, and the check's match. */
interface Ready<T> {
  output(): string;
  match: T;
}

/**
 * Collects `child`'s stdout and stderr and waits until `ready(output)` returns something (not
 * undefined or false). Throws with the output, after a SIGKILL, when the child exits first or
 * `timeoutMs` passes.
 */
async function untilReady<T>(
  child: ChildProcess,
  ready: (output: string) => T | undefined | false,
  timeoutMs: number,
  what: string,
): Promise<Ready<T>> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = ready(output);
    if (match !== undefined && match !== false) return { output: () => output, match };
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`${what} did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Sends `signal` (unless the child already exited) and resolves to its exit code. */
function exitOn(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}

/** The fake xAI upstream running as its own process (`packages/fake-openai`'s CLI). */
export interface FakeProcess {
  /** Base URL including `/v1`, for `XAI_BASE_URL`. */
  url: string;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM (SIGKILL if it is still running after `graceMs`); resolves to its exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts the fake's built CLI (`packages/fake-openai/dist/cli.js`) on a loopback port with `flags`
 * (e.g. `--chunk-delay-ms 1000`), and waits for its `LISTENING <url>` line. Its own process keeps
 * its streams' writes off the test runner's CPU, which the clients of a large test need.
 */
export async function startFakeProcess(flags: string[], timeoutMs = 15_000): Promise<FakeProcess> {
  const cli = join(__dirname, '../../fake-openai/dist/cli.js');
  const child = spawn(process.execPath, [cli, '--port', '0', '--host', '127.0.0.1', ...flags], {
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = await untilReady(child, (output) => /^LISTENING (\S+)$/m.exec(output)?.[1], timeoutMs, 'fake-openai');
  return {
    url: started.match,
    output: started.output,
    async stop(graceMs = 5_000) {
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exitOn(child, 'SIGTERM');
      clearTimeout(killer);
      return code;
    },
  };
}

/** Every rate limit off: for tests whose traffic is not about limits (the variables as a service reads them). */
export const RATE_LIMITS_OFF: Readonly<Record<string, string>> = Object.freeze({
  RATE_LIMIT_AI_PER_MINUTE: '0',
  RATE_LIMIT_AI_PER_HOUR: '0',
  RATE_LIMIT_GENERAL_PER_MINUTE: '0',
  RATE_LIMIT_GENERAL_PER_HOUR: '0',
});
