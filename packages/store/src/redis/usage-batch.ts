import { GLOBAL_BUCKET_RETENTION_MS, USER_BUCKET_RETENTION_MS } from '../time';
import type { InflightCall, UsageRecord } from '../types';
import { assertUsageRecord } from '../usage/counters';
import { assertInflightCall, inflightJson } from './inflight';
import type { KeySpace } from './keys';
import { USAGE_BATCH_ARGS, USAGE_ENTRY_ARGS } from './scripts/usage-writes';
import { WRITER_TTL_MS } from './write-sequence';

/**
 * One entry of a usage batch: a usage record, the start of a call (its in-flight record), or the
 * cancellation of a call that never reached the upstream.
 */
export type UsageEntry =
  | { kind: 'usage'; record: UsageRecord }
  | { kind: 'begin'; call: InflightCall }
  | { kind: 'cancel'; callId: string };

/** The keys and arguments of one script call. */
export interface ScriptCall {
  keys: string[];
  args: (string | number)[];
}

/** Throws RangeError (before anything is sent) when an entry is invalid or `seqs` does not match `entries`. */
export function assertUsageEntries(entries: readonly UsageEntry[], seqs?: readonly number[]): void {
  for (const entry of entries) {
    if (entry.kind === 'usage') assertUsageRecord(entry.record);
    else if (entry.kind === 'begin') assertInflightCall(entry.call);
    else if (typeof entry.callId !== 'string' || entry.callId.length === 0)
      throw new RangeError('callId must be a non-empty string');
  }
  if (seqs && seqs.length !== entries.length) throw new RangeError('one sequence number per entry is required');
}

/** True when the batch has no usage record: its begins and cancels can go in the slim in-flight script. */
export function onlyInflight(entries: readonly UsageEntry[]): boolean {
  return entries.every((entry) => entry.kind !== 'usage');
}

/** The in-flight script's call: begins as (call id, JSON), cancels as (call id, ''). */
export function inflightCall(keys: KeySpace, writerId: string, entries: readonly UsageEntry[]): ScriptCall {
  const args: (string | number)[] = [writerId, WRITER_TTL_MS];
  for (const entry of entries) {
    if (entry.kind === 'begin') args.push(entry.call.callId, inflightJson(entry.call));
    else if (entry.kind === 'cancel') args.push(entry.callId, '');
  }
  return { keys: [keys.inflight(writerId), keys.replicas()], args };
}

/**
 * The usage batch script's call (see `USAGE_BATCH` for the layout): entry `i` carries the writer
 * sequence `seqs[i]`, 0 (no check) without `seqs`.
 */
export function usageBatchCall(
  keys: KeySpace,
  writerId: string,
  entries: readonly UsageEntry[],
  seqs?: readonly number[],
): ScriptCall {
  const callKeys = [keys.usageTotals(), keys.usageWriter(writerId), keys.inflight(writerId), keys.replicas()];
  const args: (string | number)[] = [
    keys.usageMinutePrefix(),
    GLOBAL_BUCKET_RETENTION_MS,
    USER_BUCKET_RETENTION_MS,
    WRITER_TTL_MS,
    keys.usageHourPrefix(),
    keys.recoveredPrefix(),
    writerId,
    keys.usagePeriodUsersPrefix(),
    keys.usagePeriodTotalsPrefix(),
    keys.usageRankPrefix(),
  ];
  entries.forEach((entry, i) => {
    const seq = seqs?.[i] ?? 0;
    if (entry.kind === 'usage') {
      const r = entry.record;
      callKeys.push(keys.usageUser(r.userId));
      args.push(
        'u',
        r.promptTokens,
        r.completionTokens,
        r.reasoningTokens ?? 0,
        r.cachedPromptTokens ?? 0,
        r.costTicks,
        r.error ? 1 : 0,
        r.operation,
        r.model,
        r.timestampMs ?? '',
        keys.usageUserMinutePrefix(r.userId),
        seq,
        r.callId ?? '',
        r.billed ? r.billed.billedTicks : '',
        r.billed ? r.billed.pricedTicks : '',
        '',
        r.userId,
        r.periods?.hour ?? '',
        r.periods?.day ?? '',
        r.periods?.month ?? '',
      );
      return;
    }
    // Begin and cancel touch no user key; the totals key keeps KEYS aligned with the entries.
    callKeys.push(keys.usageTotals());
    const callId = entry.kind === 'begin' ? entry.call.callId : entry.callId;
    const json = entry.kind === 'begin' ? inflightJson(entry.call) : '';
    args.push(
      entry.kind === 'begin' ? 'b' : 'x',
      ...[0, 0, 0, 0, 0, 0, '', '', '', '', seq, callId, '', '', json, '', '', '', ''],
    );
  });
  if (args.length !== USAGE_BATCH_ARGS + entries.length * USAGE_ENTRY_ARGS) {
    throw new Error('usage batch layout mismatch');
  }
  return { keys: callKeys, args };
}
