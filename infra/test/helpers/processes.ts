import { type ChildProcess, spawn } from 'node:child_process';

/** A child process of the suite; `stop()` ends it (SIGTERM, then SIGKILL) and is safe to repeat. */
export interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<Managed>();

// NOTE: a crashed or interrupted test run must not leave listeners behind: whatever is still
// running when the worker exits is killed (synchronously, the only thing `exit` allows).
process.once('exit', () => {
  for (const managed of running) managed.child.kill('SIGKILL');
});

/** Starts `command` with exactly `env` (plus PATH), collecting its output for failure messages. */
export function startProcess(name: string, command: string, args: string[], env: Record<string, string>): Managed {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const managed: Managed = {
    name,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(managed);
    },
  };
  running.add(managed);
  return managed;
}

/**
 * Polls `url` until it answers 2xx, the process exits, or `timeoutMs` passes (then throws with
 * the process's output, so a start-up failure explains itself).
 */
export async function waitForHttp(managed: Managed, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (managed.child.exitCode !== null) {
      throw new Error(`${managed.name} exited with ${managed.child.exitCode}:\n${managed.output()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await sleep(100);
  }
  throw new Error(`${managed.name} did not answer ${url} within ${timeoutMs} ms (${last}):\n${managed.output()}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value other than undefined, or throws `message` after `timeoutMs`. */
export async function eventually<T>(
  message: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${message}`);
    await sleep(250);
  }
}
