import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError, networkReason } from '../gateway/client';
import { type PlannedRequest, planBurst, planRequest } from './traffic';

/** What happened so far. */
export interface Tally {
  sent: number;
  ok: number;
  /** 429 answers (AI or general limits). */
  limited: number;
  /** Streams the client closed on purpose after the first chunk. */
  aborted: number;
  /** Other non-2xx answers, by status in `statuses`. */
  failed: number;
  /** No answer at all (connection refused, reset, timeout). */
  unreachable: number;
  /** Ticks skipped because `concurrency` requests were already in flight. */
  skipped: number;
  inFlight: number;
  byOperation: Record<string, number>;
  statuses: Record<string, number>;
  latenciesMs: number[];
}

export interface RunOptions {
  url: string;
  durationS: number;
  rps: number;
  concurrency: number;
  /** One token per simulated user (round robin keeps each user's rate even). */
  userTokens: readonly string[];
  /** Tokens for the bursts, one fresh user per burst; empty = no bursts. */
  burstTokens: readonly string[];
  /** The first burst after `firstBurstS` (default 3), then one every `burstEveryS` (default 15). */
  firstBurstS?: number;
  burstEveryS?: number;
  burstSize?: number;
  random?: () => number;
  /** Called about every `progressEveryMs` and once at the end. */
  onProgress?: (tally: Tally, elapsedMs: number) => void;
  progressEveryMs?: number;
  /** Longest wait for one answer. */
  requestTimeoutMs?: number;
}

export function emptyTally(): Tally {
  return {
    sent: 0,
    ok: 0,
    limited: 0,
    aborted: 0,
    failed: 0,
    unreachable: 0,
    skipped: 0,
    inFlight: 0,
    byOperation: {},
    statuses: {},
    latenciesMs: [],
  };
}

/** The q-quantile (nearest rank) of the latencies, or undefined when there are none. */
export function quantileMs(latencies: readonly number[], q: number): number | undefined {
  if (latencies.length === 0) return undefined;
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

type Result = { kind: 'status'; status: number } | { kind: 'aborted' } | { kind: 'unreachable'; reason: string };

async function send(base: string, token: string, plan: PlannedRequest, timeoutMs: number): Promise<Result> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('timeout')), timeoutMs);
  try {
    const res = await fetch(`${base}${plan.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(plan.body),
      signal: controller.signal,
    });
    if (plan.abortEarly && res.ok && res.body) {
      const reader = res.body.getReader();
      await reader.read();
      controller.abort();
      return { kind: 'aborted' };
    }
    await res.arrayBuffer();
    return { kind: 'status', status: res.status };
  } catch (err) {
    return { kind: 'unreachable', reason: networkReason(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends `rps` requests a second of the realistic mix for `durationS` seconds (at most
 * `concurrency` in flight), plus a burst from a fresh user every `burstEveryS` seconds, then waits
 * for what is still in flight. Stops early with a `GatewayError` when the gateway refuses the
 * tokens (401: another JWT_SECRET) or cannot be reached before anything succeeded.
 */
export async function runLoad(options: RunOptions): Promise<Tally> {
  const {
    url,
    durationS,
    rps,
    concurrency,
    userTokens,
    burstTokens,
    firstBurstS = 3,
    burstEveryS = 15,
    burstSize = 8,
    random = Math.random,
    onProgress,
    progressEveryMs = 250,
    requestTimeoutMs = 60_000,
  } = options;
  if (userTokens.length === 0) throw new RangeError('runLoad needs at least one user token');
  const tally = emptyTally();
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  let fatal: GatewayError | undefined;
  let userIndex = 0;
  let burstIndex = 0;

  const launch = (plan: PlannedRequest, token: string) => {
    tally.sent++;
    tally.inFlight++;
    tally.byOperation[plan.operation] = (tally.byOperation[plan.operation] ?? 0) + 1;
    const begun = performance.now();
    const task = send(url, token, plan, requestTimeoutMs).then((result) => {
      tally.inFlight--;
      if (result.kind === 'aborted') {
        tally.aborted++;
        return;
      }
      if (result.kind === 'unreachable') {
        tally.unreachable++;
        if (tally.ok === 0 && tally.unreachable >= 3 && !fatal) {
          fatal = new GatewayError('connection', `cannot reach the gateway at ${url} (${result.reason})`);
        }
        return;
      }
      const { status } = result;
      tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
      if (status >= 200 && status < 300) {
        tally.ok++;
        tally.latenciesMs.push(performance.now() - begun);
      } else if (status === 429) tally.limited++;
      else {
        tally.failed++;
        if (status === 401 && !fatal) {
          fatal = new GatewayError(
            'auth',
            'the gateway refused the load generator’s tokens (401): run it with the JWT_SECRET the gateway uses',
            401,
          );
        }
      }
    });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  };

  const progress = onProgress ? setInterval(() => onProgress(tally, elapsed()), progressEveryMs) : undefined;
  const intervalMs = 1000 / rps;
  let next = 0;
  let nextBurstMs = firstBurstS * 1000;
  while (elapsed() < durationS * 1000 && !fatal) {
    if (burstTokens.length > 0 && elapsed() >= nextBurstMs) {
      nextBurstMs += burstEveryS * 1000;
      const token = burstTokens[burstIndex++ % burstTokens.length] as string;
      for (const plan of planBurst(burstSize)) launch(plan, token);
    }
    if (tally.inFlight < concurrency) {
      launch(planRequest(random), userTokens[userIndex++ % userTokens.length] as string);
    } else {
      tally.skipped++;
    }
    next += intervalMs;
    const wait = next - elapsed();
    if (wait > 0) await sleep(wait);
  }
  // Let what is in flight finish (bounded), so the last answers are counted too.
  await Promise.race([Promise.allSettled([...inFlight]), sleep(requestTimeoutMs)]);
  clearInterval(progress);
  onProgress?.(tally, elapsed());
  if (fatal) throw fatal;
  return tally;
}
