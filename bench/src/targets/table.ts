/**
 * The table of targets: for each letter, how it starts what it needs and what request it sends.
 * The upstream and the OTLP sink are shared by all; a c/d stack is shared by the c and d targets
 * of one variant, and has a gateway only when a d target of that variant runs.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Endpoint } from '../load.ts';
import { type Child, freePort } from '../processes.ts';
import type { ProcessGroup } from '../run/process-group.ts';
import type { Letter, Target } from './ids.ts';
import { type Stack, type StackSettings, startStack } from './stack.ts';

const require = createRequire(import.meta.url);
const SRC_DIR = dirname(import.meta.dirname);

/** What every target of one run shares. */
export interface TargetContext {
  processes: ProcessGroup;
  upstream: { child: Child; url: string };
  settings: StackSettings;
  upstreamKey: string;
  /** The bench user's JWT, for (d). */
  token: string;
  /** The running c/d stack of a target, started on first use. */
  stack(target: Target): Promise<Stack>;
}

/** A started target: the processes a request passes through, upstream last, and their entry. */
export interface Hops {
  url: string;
  chain: Child[];
  /** The Prometheus `/metrics` of each of our services in the chain, by process name. */
  metrics?: Record<string, string>;
}

/** One row of the table. */
export interface TargetKind {
  start(ctx: TargetContext, target: Target): Promise<Hops>;
  request(hops: Hops, ctx: TargetContext): Endpoint;
}

/** A target that is running: what the runner measures. */
export interface RunningTarget {
  id: string;
  endpoint: Endpoint;
  /** The processes the request passes through (for CPU per request), upstream last. */
  chain: Child[];
  /** The Prometheus `/metrics` of each of our services in the chain, by process name. */
  metrics: Record<string, string>;
}

const CHAT = '/chat/completions';

export const TARGET_KINDS: Readonly<Record<Letter, TargetKind>> = {
  a: {
    start: async (ctx) => ({ url: ctx.upstream.url, chain: [ctx.upstream.child] }),
    request: (hops) => ({ url: `${hops.url}${CHAT}`, headers: {} }),
  },
  b: {
    async start(ctx) {
      const origin = new URL(ctx.upstream.url).origin;
      const bare = await ctx.processes.start('bare-hop', [join(SRC_DIR, 'bare-proxy.ts'), origin], /LISTENING (\S+)/);
      return { url: bare.value, chain: [bare.child, ctx.upstream.child] };
    },
    request: (hops) => ({ url: `${hops.url}/v1${CHAT}`, headers: {} }),
  },
  c: {
    async start(ctx, target) {
      const stack = await ctx.stack(target);
      return {
        url: stack.aiProxyUrl,
        chain: [stack.aiProxy, ctx.upstream.child],
        metrics: { [stack.aiProxy.name]: stack.aiProxyMetricsUrl },
      };
    },
    request: (hops, ctx) => ({
      url: `${hops.url}/api/v1/ai${CHAT}`,
      headers: { 'x-internal-token': ctx.settings.internalToken, 'x-flashcase-user-id': 'bench' },
    }),
  },
  d: {
    async start(ctx, target) {
      const stack = await ctx.stack(target);
      if (!stack.gateway || !stack.gatewayUrl) throw new Error(`${target.id}: its stack has no gateway`);
      const metrics: Record<string, string> = { [stack.aiProxy.name]: stack.aiProxyMetricsUrl };
      if (stack.gatewayMetricsUrl) metrics[stack.gateway.name] = stack.gatewayMetricsUrl;
      return { url: stack.gatewayUrl, chain: [stack.gateway, stack.aiProxy, ctx.upstream.child], metrics };
    },
    request: (hops, ctx) => ({
      url: `${hops.url}/api/v1/ai${CHAT}`,
      headers: { authorization: `Bearer ${ctx.token}` },
    }),
  },
  e: {
    async start(ctx) {
      const pkg = dirname(require.resolve('@portkey-ai/gateway/package.json'));
      const port = await freePort();
      const { child } = await ctx.processes.start(
        'portkey',
        [join(pkg, 'build/start-server.js'), `--port=${port}`, '--headless'],
        /Ready for connections|running at/,
        { NODE_ENV: 'production' },
        pkg,
      );
      return { url: `http://127.0.0.1:${port}`, chain: [child, ctx.upstream.child] };
    },
    request: (hops, ctx) => ({
      url: `${hops.url}/v1${CHAT}`,
      headers: {
        authorization: `Bearer ${ctx.upstreamKey}`,
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': ctx.upstream.url,
      },
    }),
  },
};

/**
 * A `stack()` for the context: one stack per key, with a gateway when any of `wanted` is a d
 * target on it. `extraNodeArgs` go to every service (the soak's `--inspect`).
 */
export function stackStarter(
  processes: ProcessGroup,
  base: { upstreamUrl: string; upstreamKey: string; settings: StackSettings },
  wanted: readonly Target[],
  extraNodeArgs: readonly string[] = [],
): { stack(target: Target): Promise<Stack>; stacks: Map<string, Stack> } {
  const stacks = new Map<string, Stack>();
  return {
    stacks,
    async stack(target) {
      const running = stacks.get(target.stackKey);
      if (running) return running;
      const started = await startStack(processes, {
        name: target.stackKey,
        ...base,
        variant: target.stack,
        withGateway: wanted.some((t) => t.letter === 'd' && t.stackKey === target.stackKey),
        extraNodeArgs,
      });
      stacks.set(target.stackKey, started);
      return started;
    },
  };
}

/** Starts the targets one after another (in the order given) and returns what to measure. */
export async function startTargets(ctx: TargetContext, targets: readonly Target[]): Promise<RunningTarget[]> {
  const running: RunningTarget[] = [];
  for (const target of targets) {
    const kind = TARGET_KINDS[target.letter];
    const hops = await kind.start(ctx, target);
    running.push({ id: target.id, endpoint: kind.request(hops, ctx), chain: hops.chain, metrics: hops.metrics ?? {} });
  }
  return running;
}
