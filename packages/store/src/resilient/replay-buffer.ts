import type { RedisStore } from '../redis/redis-store';
import type { UsageEntry } from '../redis/usage-batch';
import type { RequestStatsDelta } from '../types';
import { type Sequenced, WriteBuffer } from './write-buffer';

/** Counts of the write buffer, for logs and health checks. */
export interface WriteBufferStats {
  /** Increments waiting for Redis. */
  buffered: number;
  /** Increments refused because the buffer was full (lost usage). */
  dropped: number;
  /** Increments written to Redis by a replay. */
  replayed: number;
}

/** The writer sequences: one per kind of write, each applied in order by its Redis script. */
export type WriteStream = 'usage' | 'stats' | 'settle' | 'inflight';

/**
 * A counter increment as the resilient store keeps it until Redis has it: its stream and
 * sequence number, how often Redis itself refused it, and what to apply.
 */
export type BufferedWrite = Sequenced & { stream: WriteStream; attempts: number } & (
    | { kind: 'usage'; entry: UsageEntry }
    | { kind: 'stats'; delta: RequestStatsDelta }
    | { kind: 'settle'; key: string; reservationId: string; tokens: number; windowMs: number }
  );

/** A usage record, begin or cancel (the usage script applies them). */
export type UsageWrite = Extract<BufferedWrite, { kind: 'usage' }>;

/** What the buffer writes to: the Redis store's increments. */
export type ReplayTarget = Pick<RedisStore, 'writerId' | 'applyUsageBatch' | 'addRequestStats' | 'settleBudget'>;

/** Bounds a Redis call in time (`HealthGate.bounded`). */
export type Bounded = <T>(promise: Promise<T>) => Promise<T>;

/** Usage writes replayed per script call: one round trip (and one AOF fsync) for many records. */
const REPLAY_BATCH = 200;

/** A replayed write refused by the server itself this many times (not a connection problem) is dropped. */
const MAX_REPLAY_ATTEMPTS = 5;

function isServerError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/** The writer sequence a usage entry is sent with: begins and cancels (stream `inflight`) need none. */
export function sentSeq(write: UsageWrite): number {
  return write.stream === 'usage' ? write.seq : 0;
}

/**
 * The increments that could not reach Redis, kept in order and written back exactly once.
 *
 * Every write takes a sequence number of its stream (`nextSeq`) whether it is sent at once or
 * buffered; the Redis scripts apply a writer's sequence at most once, so a write whose reply was
 * lost (it may have been applied) and that is replayed is not counted twice. Writes of a stream are
 * replayed in sequence order, which is why a replay waits while direct writes are still in flight
 * (`startDirect` / `settleDirect`): one of them may yet fail into the buffer with an older sequence.
 *
 * Bounded: past `capacity` a write is dropped and counted. A replayed write Redis refuses itself
 * (a `ReplyError`) is dropped after MAX_REPLAY_ATTEMPTS; one lost to the connection is kept.
 */
export class ReplayBuffer {
  private readonly buffer: WriteBuffer<BufferedWrite>;
  private readonly seqs: Record<WriteStream, number> = { usage: 0, stats: 0, settle: 0, inflight: 0 };
  private replayed = 0;
  /** Direct (unbuffered) writes still waiting for Redis: a replay waits for them to settle. */
  private direct = 0;

  constructor(
    private readonly redis: ReplayTarget,
    capacity: number,
  ) {
    this.buffer = new WriteBuffer(capacity);
  }

  /** The next sequence number of `stream` (1, 2, ...). */
  nextSeq(stream: WriteStream): number {
    return ++this.seqs[stream];
  }

  /** Writes waiting for Redis. */
  get length(): number {
    return this.buffer.length;
  }

  /** Keeps a write for the replay, at its place in its stream (dropped and counted when full). */
  insert(write: BufferedWrite): void {
    this.buffer.insert(write);
  }

  /** The buffer's counts (lost usage shows as `dropped`). */
  stats(): WriteBufferStats {
    return { buffered: this.buffer.length, dropped: this.buffer.dropped, replayed: this.replayed };
  }

  /** Notes `n` writes sent straight to Redis: no replay starts until they settle. */
  startDirect(n = 1): void {
    this.direct += n;
  }

  /** Notes that `n` direct writes were applied or buffered. */
  settleDirect(n = 1): void {
    this.direct -= n;
  }

  /** Sends one write to Redis (the direct path; nothing is buffered here). */
  async apply(write: BufferedWrite): Promise<void> {
    const sequence = { writerId: this.redis.writerId, seq: write.seq };
    switch (write.kind) {
      case 'usage':
        await this.redis.applyUsageBatch([write.entry], [sentSeq(write)]);
        return;
      case 'stats':
        return this.redis.addRequestStats(write.delta, sequence);
      case 'settle':
        return this.redis.settleBudget(write.key, write.reservationId, write.tokens, write.windowMs);
    }
  }

  /**
   * Writes the buffer back, oldest first, each call bounded by `bounded`: resolves true when it is
   * empty, false when it had to stop (direct writes in flight, `stop()` said so, or a call failed:
   * its writes go back in place for the next attempt).
   */
  async drain(bounded: Bounded, stop: () => boolean): Promise<boolean> {
    // Direct writes still in flight may be applied or may fail into the buffer: replaying before
    // they settle could apply a younger sequence first and make the older one look applied.
    if (this.direct > 0) return false;
    while (this.buffer.length > 0) {
      if (stop()) return false;
      const batch = this.takeBatch();
      try {
        await bounded(this.replay(batch));
        this.replayed += batch.length;
      } catch (err) {
        const server = isServerError(err);
        for (const write of batch) {
          write.attempts = server ? write.attempts + 1 : 0;
          if (write.attempts >= MAX_REPLAY_ATTEMPTS) this.buffer.dropped++;
          else this.buffer.insert(write);
        }
        return false;
      }
    }
    return true;
  }

  /** The oldest buffered write, or the run of oldest usage writes (replayed in one script). */
  private takeBatch(): BufferedWrite[] {
    const batch = [this.buffer.shift() as BufferedWrite];
    if (batch[0]?.kind !== 'usage') return batch;
    while (batch.length < REPLAY_BATCH && this.buffer.peek()?.kind === 'usage') {
      batch.push(this.buffer.shift() as BufferedWrite);
    }
    return batch;
  }

  private async replay(batch: BufferedWrite[]): Promise<void> {
    const [first] = batch;
    if (first?.kind !== 'usage') {
      if (first) await this.apply(first);
      return;
    }
    const usage = batch as UsageWrite[];
    await this.redis.applyUsageBatch(
      usage.map((w) => w.entry),
      usage.map(sentSeq),
    );
  }
}
