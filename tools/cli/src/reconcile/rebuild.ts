import { addLedgerCall, type UsageFields, type UsageTarget } from '@flashcase/store';
import type { UsageLine } from './records';

/** What a trail held besides the calls it counts. */
export interface TrailStats {
  /** Usage records read in the period. */
  records: number;
  /** Records seen twice (same replica and sequence number: overlapping files or pages), counted once. */
  duplicates: number;
  /** Orphan estimates (`replica_lost`) replaced by their replica's own late record (same call id). */
  correctedOrphans: number;
  /**
   * Records written before their call's orphan estimate: the replica logged the call and died before
   * its counters reached the store, so the store counted the estimate, and so does the rebuild.
   */
  diedBeforeCounting: number;
  /** Two different final records for one call id (the first is counted). */
  conflicts: number;
  /** Per replica, sequence numbers missing between its first and last record in the period. */
  sequenceGaps: Map<string, number>;
}

/** The counters a trail rebuilds, in the store's field layout, and when its calls began. */
export interface Rebuilt {
  target: UsageTarget & { users: Map<string, UsageFields>; usersSinceMs: Map<string, number> };
  calls: number;
}

/**
 * Rebuilds the store's running counters from usage records, as the store counts them: one request
 * per call; an orphan estimate (`replica_lost`, counted without an error) unless its replica's own
 * record for the same call id came after it, whose figures then stand (the store corrects the
 * estimate the same way; a record from before the estimate never reached the store, or there would
 * have been no orphan); a billed call with its priced ticks in the pricing check.
 */
export class TrailRebuild {
  private readonly seen = new Set<string>();
  private readonly byCall = new Map<string, UsageLine>();
  private readonly loose: UsageLine[] = [];
  private readonly sequences = new Map<string, { min: number; max: number; count: number }>();
  readonly stats: TrailStats = {
    records: 0,
    duplicates: 0,
    correctedOrphans: 0,
    diedBeforeCounting: 0,
    conflicts: 0,
    sequenceGaps: new Map(),
  };

  add(record: UsageLine): void {
    if (record.replicaId !== undefined && record.seq !== undefined) {
      const key = `${record.replicaId}\u0000${record.seq}`;
      if (this.seen.has(key)) {
        this.stats.duplicates++;
        return;
      }
      this.seen.add(key);
      const range = this.sequences.get(record.replicaId);
      if (!range) this.sequences.set(record.replicaId, { min: record.seq, max: record.seq, count: 1 });
      else {
        range.min = Math.min(range.min, record.seq);
        range.max = Math.max(range.max, record.seq);
        range.count++;
      }
    }
    this.stats.records++;
    if (record.callId === undefined) {
      this.loose.push(record);
      return;
    }
    const earlier = this.byCall.get(record.callId);
    if (!earlier) {
      this.byCall.set(record.callId, record);
      return;
    }
    const lost = [earlier, record].find((r) => r.outcome === 'replica_lost');
    const own = [earlier, record].find((r) => r.outcome !== 'replica_lost');
    if (!lost || !own) {
      this.stats.conflicts++;
      return;
    }
    // The store lets the replica's own record correct the estimate only when it arrives after it.
    if (own.timeMs >= lost.timeMs) {
      this.byCall.set(record.callId, own);
      this.stats.correctedOrphans++;
    } else {
      this.byCall.set(record.callId, lost);
      this.stats.diedBeforeCounting++;
    }
  }

  /** The final record of every call, in no particular order. */
  *calls(): Iterable<UsageLine> {
    yield* this.byCall.values();
    yield* this.loose;
  }

  /** The counters of the calls whose final record is at or before `untilMs` (default: all). */
  rebuild(untilMs = Number.POSITIVE_INFINITY): Rebuilt {
    const totals: UsageFields = new Map();
    const users = new Map<string, UsageFields>();
    const usersSinceMs = new Map<string, number>();
    let sinceMs: number | undefined;
    let calls = 0;
    for (const record of this.calls()) {
      if (record.timeMs > untilMs) continue;
      calls++;
      const lost = record.outcome === 'replica_lost';
      const call = {
        operation: record.operation,
        model: record.model,
        counters: {
          promptTokens: record.promptTokens,
          completionTokens: record.completionTokens,
          totalTokens: record.promptTokens + record.completionTokens,
          reasoningTokens: record.reasoningTokens,
          cachedPromptTokens: record.cachedPromptTokens,
          requests: 1,
          errors: lost || record.outcome === 'success' ? 0 : 1,
          costTicks: record.costTicks,
        },
        billed:
          record.costSource === 'billed' && record.pricedTicks !== undefined
            ? { billedTicks: record.costTicks, pricedTicks: record.pricedTicks }
            : undefined,
      };
      addLedgerCall(totals, call, true);
      let user = users.get(record.userId);
      if (!user) {
        user = new Map();
        users.set(record.userId, user);
      }
      addLedgerCall(user, call, false);
      sinceMs = sinceMs === undefined ? record.timeMs : Math.min(sinceMs, record.timeMs);
      usersSinceMs.set(record.userId, Math.min(usersSinceMs.get(record.userId) ?? record.timeMs, record.timeMs));
    }
    for (const [replica, range] of this.sequences) {
      const missing = range.max - range.min + 1 - range.count;
      if (missing > 0) this.stats.sequenceGaps.set(replica, missing);
    }
    return { target: { totals, users, sinceMs, usersSinceMs }, calls };
  }
}
