/**
 * The processes under test: started as children the way production starts them (`node <main.js>`,
 * environment only), their output to a log file (as a container runtime would take it), and their
 * memory and CPU read from /proc while the benchmark runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  logFile: string;
  /** Highest VmRSS seen by the sampler (MB). */
  peakRssMb: number;
  /** VmRSS samples: [seconds since start of the run, MB]. */
  rssTimeline: Array<[number, number]>;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Resolves with the first stdout line matching this (its capture group 1 when it has one). */
  ready: RegExp;
  logDir: string;
  timeoutMs?: number;
  /** How long SIGTERM may take (a graceful drain, profiles written) before SIGKILL. */
  graceMs?: number;
}

/** A free loopback port (for services that take PORT / METRICS_PORT, not port 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The first 256 KB of a file (start-up output), as text. */
function readHead(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(256 * 1024);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, n).toString();
  } finally {
    closeSync(fd);
  }
}

/** Starts `node <args>` and waits for its ready line; returns the child and the matched value. */
export async function startChild(options: StartOptions): Promise<{ child: Child; value: string }> {
  const { name, args, env = {}, cwd, ready, logDir, timeoutMs = 30_000, graceMs = 10_000 } = options;
  const logFile = join(logDir, `${name}.log`);
  // NOTE: output goes straight to a file, as a container runtime takes it. Piped through this
  // process instead, a child's synchronous stdout writes would wait on this busy event loop (the
  // load generator) and its logging would look many times dearer than it is.
  const fd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let value: string | undefined;
  let seen = '';
  const deadline = Date.now() + timeoutMs;
  while (value === undefined) {
    seen = readHead(logFile);
    const match = ready.exec(seen);
    if (match) {
      value = match[1] ?? match[0];
      break;
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${name} did not start (see ${logFile}):\n${seen.slice(-2000)}`);
    }
    await sleep(20);
  }
  const child: Child = {
    name,
    process: proc,
    pid: proc.pid as number,
    logFile,
    peakRssMb: 0,
    rssTimeline: [],
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const started = Date.now();
        const force = setTimeout(() => {
          process.stderr.write(`bench: ${name} did not stop within ${graceMs} ms of SIGTERM: killed\n`);
          proc.kill('SIGKILL');
        }, graceMs);
        proc.once('exit', () => {
          clearTimeout(force);
          if (process.env.BENCH_DEBUG) process.stderr.write(`bench: ${name} stopped in ${Date.now() - started} ms\n`);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
  return { child, value };
}

/** VmRSS and VmHWM (peak) of a process, in MB. */
export function memoryMb(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** User + system CPU time a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** Polls the RSS of every child every `intervalMs` until stopped. */
export function sampleMemory(children: () => Child[], intervalMs = 250): () => void {
  const started = Date.now();
  const tick = () => {
    const t = (Date.now() - started) / 1000;
    for (const child of children()) {
      const { rss, hwm } = memoryMb(child.pid);
      if (rss === 0) continue;
      child.peakRssMb = Math.max(child.peakRssMb, rss, hwm);
      child.rssTimeline.push([Math.round(t * 10) / 10, Math.round(rss * 10) / 10]);
    }
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    tick();
  };
}
