import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The fake xAI upstream running as its own process (`@flashcase/fake-openai/cli`). */
export interface FakeProcess {
  /** Base URL including `/v1`, for `XAI_BASE_URL`. */
  url: string;
  /** SIGTERM (SIGKILL if it is still running after `graceMs`); resolves to its exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts the fake's CLI (`dist/cli.js`) on a loopback port with `flags` (e.g. `--chunk-delay-ms
 * 1000`), and waits for its `LISTENING <url>` line. Its own process keeps its streams' writes off
 * the test runner's CPU, which the clients of a large test need. Throws with its output when it
 * exits first or does not come up within `timeoutMs`.
 */
export async function startFakeProcess(flags: string[], timeoutMs = 15_000): Promise<FakeProcess> {
  const cli = join(__dirname, '..', 'dist', 'cli.js');
  const child = spawn(process.execPath, [cli, '--port', '0', '--host', '127.0.0.1', ...flags], {
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + timeoutMs;
  let url: string | undefined;
  while (url === undefined) {
    url = /^LISTENING (\S+)$/m.exec(output)?.[1];
    if (url !== undefined) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`fake-openai did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return {
    url,
    async stop(graceMs = 5_000) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
