/**
 * One run's shared pieces and its measurement: the fake upstream, the OTLP sink, the secrets and
 * Redis prefix every stack uses, the targets started from the table, then the warm-up, the rounds,
 * and the figures that must be read before the processes stop (usage count, sink stats, peak RSS).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { memoryMb } from '../processes.ts';
import type { Target } from '../targets/ids.ts';
import type { StackSettings } from '../targets/stack.ts';
import { type RunningTarget, stackStarter, startTargets, type TargetContext } from '../targets/table.ts';
import { benchUserToken } from '../targets/token.ts';
import type { ProcessGroup } from './process-group.ts';
import { type RoundsOutcome, type RoundsPlan, runRounds, tenth, warmUp } from './rounds.ts';
import { usageCounted } from './store-keys.ts';

const require = createRequire(import.meta.url);
const SRC_DIR = join(import.meta.dirname, '..');
const UPSTREAM_KEY = 'sk-bench';

/** The settings of this process's stacks: secrets of the bench's own, keys under a per-run prefix. */
export function benchSettings(sinkUrl: string, env: NodeJS.ProcessEnv = process.env): StackSettings {
  return {
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: `flashcase-bench:${process.pid}:`,
    sinkUrl,
    internalToken: 'bench-internal-token-0123456789abcdef',
    jwtSecret: 'bench-jwt-secret-0123456789abcdef0123456789',
  };
}

/** A run with its shared processes up and its targets started. */
export interface Session {
  ctx: TargetContext;
  running: RunningTarget[];
  /** The plain c/d stack's ai-proxy, when one runs: its store count checks the usage path. */
  plainAiProxyUrl: string | undefined;
}

/** How a session starts. */
export interface SessionOptions {
  /** Every service opens its inspector (the soak forces full collections through it). */
  inspect?: boolean;
  /** Flags for the upstream, the zero-delay fake (`--chunk-delay-ms 250` paces its streams). */
  upstreamFlags?: string[];
}

/** Starts the upstream and the sink, then `targets` in order. */
export async function openSession(
  processes: ProcessGroup,
  targets: readonly Target[],
  { inspect = false, upstreamFlags = [] }: SessionOptions = {},
): Promise<Session> {
  const args = [require.resolve('@flashcase/fake-openai/cli'), '--port', '0', '--latency-ms', '0', ...upstreamFlags];
  const upstream = await processes.start('upstream', args, /LISTENING (\S+)/);
  const sink = await processes.start('otlp-sink', [join(SRC_DIR, 'otlp-sink.ts')], /LISTENING (\S+)/);
  const settings = benchSettings(sink.value);
  const upstreamUrl = upstream.value; // base URL with /v1
  const starter = stackStarter(
    processes,
    { upstreamUrl, upstreamKey: UPSTREAM_KEY, settings },
    targets,
    inspect ? ['--inspect=127.0.0.1:0'] : [],
  );
  const ctx: TargetContext = {
    processes,
    upstream: { child: upstream.child, url: upstreamUrl },
    settings,
    upstreamKey: UPSTREAM_KEY,
    token: benchUserToken(settings.jwtSecret, 'bench'),
    stack: starter.stack,
  };
  const running = await startTargets(ctx, targets);
  return { ctx, running, plainAiProxyUrl: starter.stacks.get('full')?.aiProxyUrl };
}

/** The rounds and what must be read while the processes still run. */
export interface Measured {
  outcome: RoundsOutcome;
  usage: { before: number | undefined; after: number | undefined };
  sinkStats: Record<string, unknown>;
  peakRss: Record<string, number>;
}

/** Warms up, runs the rounds, then reads the usage count, the sink's stats and each peak RSS. */
export async function measure(session: Session, plan: RoundsPlan, onRound: (done: number) => void): Promise<Measured> {
  const { processes, settings } = session.ctx;
  const counted = () =>
    session.plainAiProxyUrl ? usageCounted(session.plainAiProxyUrl, settings.internalToken) : undefined;
  await warmUp(session.running, plan.connections);
  const before = await counted();
  const outcome = await runRounds(session.running, plan, () => processes.services(), onRound);
  const after = await counted();
  const sinkStats = (await (await fetch(`${settings.sinkUrl}/stats`)).json()) as Record<string, unknown>;
  const peakRss: Record<string, number> = {};
  for (const child of processes.services()) {
    peakRss[child.name] = tenth(Math.max(child.peakRssMb, memoryMb(child.pid).hwm));
  }
  return { outcome, usage: { before, after }, sinkStats, peakRss };
}
