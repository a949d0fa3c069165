import type { RedisStore } from '../redis/redis-store';
import type { UsageEntry } from '../redis/usage-batch';
import type { HealthGate } from './health-gate';
import { type ReplayBuffer, sentSeq, type UsageWrite } from './replay-buffer';

/** Where the batcher sends: the Redis store's usage script. */
export type UsageSink = Pick<RedisStore, 'applyUsageBatch'>;

/** Options of {@link UsageBatcher}. */
export interface UsageBatcherOptions {
  /** How long a usage record waits for others to share its script call; 0 = the end of the event-loop turn. */
  flushDelayMs: number;
  /** Most entries in one script call; a larger flush is sent as several calls, in order. Default 200. */
  maxBatch?: number;
}

/** A usage entry waiting for its flush: as buffered, as sent now, and its caller's resolver. */
type Queued = { write: UsageWrite; direct: UsageEntry; done: () => void };

/** Most usage records sent in one script call by the live path (larger flushes send several calls). */
const LIVE_BATCH = 200;

/**
 * The usage micro-batcher of the resilient store: usage records made within `flushDelayMs` go to
 * Redis together, in one script call (one round trip, one ioredis span) of at most `maxBatch`
 * entries, in sequence order; under load one call carries many requests' usage. Begins and cancels
 * of in-flight calls go at the end of the turn in their own call, so they do not wait for the delay.
 *
 * Each entry's promise resolves once it is applied or buffered: a caller that awaits it keeps
 * "written before answered". While the gate is degraded entries go straight to the replay buffer;
 * a call that fails or times out makes the gate degraded and buffers its entries (the replay skips
 * any that Redis applied after all). `written()` sends what waits at once and waits for it (reads
 * of the store and `close()` use it: read your writes without waiting for the timer).
 */
export class UsageBatcher {
  private readonly flushDelayMs: number;
  private readonly maxBatch: number;
  /** Usage records waiting for the scheduled flush (counted as direct writes). */
  private usageQueue: Queued[] = [];
  /** Begins and cancels waiting for the end of this turn (counted as direct writes). */
  private inflightQueue: Queued[] = [];
  /** Settles when the queued records (the scheduled flush) are applied or buffered. */
  private usageFlush: Promise<void> | undefined;
  /** Runs the scheduled flush now (a read or `close()` will not wait for the timer). */
  private usageFlushNow: (() => void) | undefined;
  /** Settles when every usage write flushed so far is applied or buffered. */
  private usageSent: Promise<void> = Promise.resolve();

  constructor(
    private readonly sink: UsageSink,
    private readonly gate: HealthGate,
    private readonly buffer: ReplayBuffer,
    { flushDelayMs, maxBatch = LIVE_BATCH }: UsageBatcherOptions,
  ) {
    this.flushDelayMs = flushDelayMs;
    this.maxBatch = maxBatch;
  }

  /**
   * Queues one usage record for the next flush (`buffered` is what the replay would send, `direct`
   * what goes now); buffered at once while degraded. Resolves once applied or buffered.
   */
  async record(buffered: UsageEntry, direct: UsageEntry): Promise<void> {
    const write: UsageWrite = {
      stream: 'usage',
      seq: this.buffer.nextSeq('usage'),
      attempts: 0,
      kind: 'usage',
      entry: buffered,
    };
    if (this.gate.isDegraded()) {
      this.buffer.insert(write);
      return;
    }
    this.buffer.startDirect();
    await new Promise<void>((done) => {
      this.usageQueue.push({ write, direct, done });
      this.usageFlush ??= new Promise<void>((flushed) => {
        const run = () => {
          if (this.usageFlushNow !== run) return;
          clearTimeout(timer);
          this.usageFlushNow = undefined;
          this.usageFlush = undefined;
          const sent = this.flushUsage();
          this.usageSent = Promise.all([this.usageSent, sent]).then(() => undefined);
          void sent.then(flushed);
        };
        this.usageFlushNow = run;
        const timer = this.flushDelayMs > 0 ? setTimeout(run, this.flushDelayMs) : undefined;
        if (!timer) setImmediate(run);
      });
    });
  }

  /**
   * Queues a begin or cancel for the end of this event-loop turn, with the other begins and
   * cancels of the turn; buffered at once while degraded. They are idempotent (set and delete one
   * field), so they need no writer sequence; buffered, they keep their place among the usage
   * records (a call's record always comes after its begin).
   */
  async inflight(entry: UsageEntry): Promise<void> {
    const write: UsageWrite = {
      stream: 'inflight',
      seq: this.buffer.nextSeq('inflight'),
      attempts: 0,
      kind: 'usage',
      entry,
    };
    if (this.gate.isDegraded()) {
      this.buffer.insert(write);
      return;
    }
    this.buffer.startDirect();
    await new Promise<void>((done) => {
      this.inflightQueue.push({ write, direct: entry, done });
      if (this.inflightQueue.length === 1) setImmediate(() => void this.flushInflight());
    });
  }

  /** Sends the usage records that wait at once, and waits until every one made so far is applied or buffered. */
  async written(): Promise<void> {
    const flush = this.usageFlush;
    this.usageFlushNow?.();
    await flush;
    await this.usageSent;
  }

  /** Sends the queued begins and cancels in one script call (buffered when Redis fails). */
  private async flushInflight(): Promise<void> {
    const queue = this.inflightQueue;
    this.inflightQueue = [];
    await this.send(queue);
  }

  /**
   * Sends the queued usage records: every script call is issued before any is awaited, so calls
   * reach Redis in sequence order (one connection, one slot), as the writer high-water mark needs.
   */
  private async flushUsage(): Promise<void> {
    const queue = this.usageQueue;
    this.usageQueue = [];
    await this.send(queue);
  }

  /** Sends queued entries in script calls of at most `maxBatch`, in order; buffers them when Redis fails. */
  private async send(queue: Queued[]): Promise<void> {
    const calls: Promise<void>[] = [];
    for (let from = 0; from < queue.length; from += this.maxBatch) {
      const chunk = queue.slice(from, from + this.maxBatch);
      const settle = () => {
        this.buffer.settleDirect(chunk.length);
        for (const entry of chunk) entry.done();
      };
      if (this.gate.isDegraded()) {
        for (const entry of chunk) this.buffer.insert(entry.write);
        settle();
        continue;
      }
      const sent = this.sink.applyUsageBatch(
        chunk.map((entry) => entry.direct),
        chunk.map((entry) => sentSeq(entry.write)),
      );
      calls.push(
        this.gate.bounded(sent).then(
          () => settle(),
          (err: unknown) => {
            this.gate.fail(err);
            for (const entry of chunk) this.buffer.insert(entry.write);
            settle();
          },
        ),
      );
    }
    await Promise.all(calls);
  }
}
