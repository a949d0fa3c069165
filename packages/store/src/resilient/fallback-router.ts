import { StoreUnavailableError } from '../errors';
import type { HealthGate } from './health-gate';
import type { BufferedWrite, ReplayBuffer } from './replay-buffer';

/** `REDIS_FAILURE_MODE`: keep serving on per-replica limits (`open`) or refuse (`closed`) while Redis is away. */
export type FailureMode = 'open' | 'closed';

/**
 * Where each call of the resilient store goes, by the gate's state and the failure mode:
 *
 * - limit checks (`limit`): Redis when healthy; while degraded, or when that call fails, the
 *   embedded fallback (`open`) or a `StoreUnavailableError` (`closed`);
 * - reads (`read`): Redis when healthy, else a `StoreUnavailableError` (they need the
 *   cluster-wide state);
 * - counter increments (`write`): Redis when healthy, else (or when that fails) the replay buffer;
 * - best-effort sweeps (`bestEffort`): Redis when healthy, else a harmless answer.
 *
 * A call that fails or times out makes the gate degraded; a RangeError (the caller's mistake, not
 * Redis's) is thrown as it is and changes nothing.
 */
export class FallbackRouter {
  constructor(
    private readonly gate: HealthGate,
    private readonly buffer: ReplayBuffer,
    readonly failureMode: FailureMode,
  ) {}

  /** A limit check: Redis when healthy; the fallback (open) or a refusal (closed) otherwise. */
  async limit<T>(onRedis: () => Promise<T>, onFallback: () => Promise<T>): Promise<T> {
    let cause: unknown;
    if (!this.gate.isDegraded()) {
      try {
        return await this.gate.bounded(onRedis());
      } catch (err) {
        if (err instanceof RangeError) throw err;
        this.gate.fail(err);
        cause = err;
      }
    }
    if (this.failureMode === 'closed') {
      throw new StoreUnavailableError('the counters store is degraded (REDIS_FAILURE_MODE=closed)', { cause });
    }
    return onFallback();
  }

  /** A read of the shared counters: refused while degraded or when Redis does not answer. */
  async read<T>(onRedis: () => Promise<T>): Promise<T> {
    if (this.gate.isDegraded())
      throw new StoreUnavailableError('the counters store is degraded: shared counters are unavailable');
    try {
      return await this.gate.bounded(onRedis());
    } catch (err) {
      if (err instanceof RangeError) throw err;
      this.gate.fail(err);
      throw new StoreUnavailableError('redis did not answer', { cause: err });
    }
  }

  /** A counter increment: straight to Redis when healthy, else (or when that fails) into the buffer. */
  async write(write: BufferedWrite): Promise<void> {
    if (!this.gate.isDegraded()) {
      this.buffer.startDirect();
      try {
        await this.gate.bounded(this.buffer.apply(write));
        return;
      } catch (err) {
        this.gate.fail(err);
      } finally {
        this.buffer.settleDirect();
      }
    }
    this.buffer.insert(write);
  }

  /** A call with a harmless answer while Redis is away (`otherwise()`): skipped while degraded. */
  async bestEffort<T>(onRedis: () => Promise<T>, otherwise: () => T): Promise<T> {
    if (this.gate.isDegraded()) return otherwise();
    try {
      return await this.gate.bounded(onRedis());
    } catch (err) {
      if (err instanceof RangeError) throw err;
      this.gate.fail(err);
      return otherwise();
    }
  }
}
