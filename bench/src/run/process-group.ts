/**
 * Every process one bench run starts, so that all of them stop together whatever happens, and each
 * starts with the run's profiling flags (`--cpu-prof`, `--memlog`).
 */
import { join } from 'node:path';
import { type Child, startChild } from '../processes.ts';

export interface ProcessGroupOptions {
  /** Where each process's output (and `--cpu-prof` profiles) go. */
  logDir: string;
  cpuProf?: boolean;
  /** Preloads memlog.ts into every process. */
  memlog?: boolean;
}

/** Starts children that are tracked for clean-up. */
export interface ProcessGroup {
  readonly logDir: string;
  /** Every child started so far, in start order. */
  readonly children: readonly Child[];
  /** Starts `node <args>`, waits for `ready` and returns the child and its captured value. */
  start(
    name: string,
    args: string[],
    ready: RegExp,
    env?: Record<string, string>,
    cwd?: string,
  ): Promise<{ child: Child; value: string }>;
  /** The processes under test: every child but the OTLP sink. */
  services(): Child[];
  stopAll(): Promise<void>;
}

const MEMLOG = join(import.meta.dirname, '..', 'memlog.ts');

/** The group of one run. */
const isSink = (child: Child) => child.name === 'otlp-sink';

export function createProcessGroup({ logDir, cpuProf = false, memlog = false }: ProcessGroupOptions): ProcessGroup {
  const children: Child[] = [];
  return {
    logDir,
    children,
    async start(name, args, ready, env = {}, cwd) {
      const profile = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(logDir, 'profiles')}`] : [];
      if (memlog) profile.push(`--import=${MEMLOG}`);
      const started = await startChild({ name, args: [...profile, ...args], ready, env, cwd, logDir });
      children.push(started.child);
      return started;
    },
    services: () => children.filter((c) => !isSink(c)),
    // The services first: each flushes its telemetry to the sink on the way out.
    stopAll: async () => {
      await Promise.all(children.filter((c) => !isSink(c)).map((c) => c.stop()));
      await Promise.all(children.filter(isSink).map((c) => c.stop()));
    },
  };
}
