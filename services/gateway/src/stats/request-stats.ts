import { type CountersStore, LATENCY_BUCKETS_S, type RequestStatsDelta } from '@flashcase/store';
import type { Logger } from '@flashcase/telemetry';

const MINUTE_MS = 60_000;

/**
 * Gateway request statistics for the alert rules (requests, 4xx, 5xx, latency histogram per
 * minute), aggregated in memory and written to the store about once a second: one round trip a
 * second per replica, not one per request. The store sums every replica's minutes.
 */
export class RequestStatsRecorder {
  private pending = new Map<number, RequestStatsDelta>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: CountersStore,
    private readonly log: Logger,
    flushIntervalMs = 1_000,
  ) {
    this.timer = setInterval(() => void this.flush(), flushIntervalMs).unref();
  }

  record(status: number, durationS: number, nowMs = Date.now()): void {
    const minuteMs = nowMs - (nowMs % MINUTE_MS);
    let delta = this.pending.get(minuteMs);
    if (!delta) {
      delta = {
        minuteMs,
        requests: 0,
        status4xx: 0,
        status5xx: 0,
        rateLimited: 0,
        latencyBuckets: new Array(LATENCY_BUCKETS_S.length).fill(0),
      };
      this.pending.set(minuteMs, delta);
    }
    delta.requests++;
    if (status >= 500) delta.status5xx++;
    else if (status >= 400) delta.status4xx++;
    // Every rate-limit refusal a client gets passes here: the general limits' own 429 and ai-proxy's
    // AI-limit and token-budget 429 relayed. So this one count is cluster-wide with no extra I/O.
    if (status === 429) delta.rateLimited = (delta.rateLimited ?? 0) + 1;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS_S.length - 1 && durationS > (LATENCY_BUCKETS_S[bucket] ?? Number.POSITIVE_INFINITY))
      bucket++;
    delta.latencyBuckets[bucket] = (delta.latencyBuckets[bucket] ?? 0) + 1;
  }

  /** Writes what has accumulated; concurrent calls queue behind each other. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = [...this.pending.values()];
      this.pending = new Map();
      for (const delta of batch) {
        try {
          await this.store.addRequestStats(delta);
        } catch (err) {
          // Resilient stores buffer through outages; a refusal here loses one second of stats.
          this.log.warn('Request stats could not be written to the store', { err });
        }
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
