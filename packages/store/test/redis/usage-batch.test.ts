import { describe, expect, it } from 'vitest';
import type { InflightCall } from '../../src/index';
import { inflightJson, recoveredCallOf } from '../../src/redis/inflight';
import { KeySpace } from '../../src/redis/keys';
import { USAGE_BATCH_ARGS, USAGE_ENTRY_ARGS } from '../../src/redis/scripts/usage-writes';
import {
  assertUsageEntries,
  inflightCall,
  onlyInflight,
  type UsageEntry,
  usageBatchCall,
} from '../../src/redis/usage-batch';

const CALL: InflightCall = {
  callId: 'c1',
  userId: 'alice',
  model: 'grok-4-fast',
  operation: 'chat',
  estimate: { promptTokens: 10, completionTokens: 100, costTicks: 5000 },
  requestId: 'req-1',
  periods: { hour: 'h2025-10-21T12', day: 'd2025-10-21', month: 'm2025-10' },
};

const USAGE: UsageEntry = {
  kind: 'usage',
  record: {
    userId: 'bob',
    model: 'grok-4-fast',
    operation: 'chat',
    promptTokens: 1,
    completionTokens: 2,
    costTicks: 3,
  },
};

describe('redis usage batch encoding', () => {
  const keys = new KeySpace('t:');

  it('refuses an invalid entry or mismatched sequences before anything is sent', () => {
    expect(() => assertUsageEntries([{ kind: 'cancel', callId: '' }])).toThrow(RangeError);
    expect(() => assertUsageEntries([{ kind: 'begin', call: { ...CALL, userId: '' } }])).toThrow(RangeError);
    expect(() => assertUsageEntries([USAGE], [1, 2])).toThrow(RangeError);
    expect(() => assertUsageEntries([USAGE, { kind: 'begin', call: CALL }], [1, 0])).not.toThrow();
  });

  it('sends begins and cancels alone in the in-flight script, as (call id, JSON or empty) pairs', () => {
    const entries: UsageEntry[] = [
      { kind: 'begin', call: CALL },
      { kind: 'cancel', callId: 'c2' },
    ];
    expect(onlyInflight(entries)).toBe(true);
    expect(onlyInflight([...entries, USAGE])).toBe(false);
    const { keys: callKeys, args } = inflightCall(keys, 'w1', entries);
    expect(callKeys).toEqual([keys.inflight('w1'), keys.replicas()]);
    expect(args.slice(0, 1)).toEqual(['w1']);
    expect(args.slice(2)).toEqual(['c1', inflightJson(CALL), 'c2', '']);
  });

  it('lays out one user key and a fixed number of arguments per entry, sequences in place', () => {
    const { keys: callKeys, args } = usageBatchCall(keys, 'w1', [USAGE, { kind: 'begin', call: CALL }], [7, 0]);
    expect(callKeys.slice(4)).toEqual([keys.usageUser('bob'), keys.usageTotals()]);
    expect(args).toHaveLength(USAGE_BATCH_ARGS + 2 * USAGE_ENTRY_ARGS);
    const first = args.slice(USAGE_BATCH_ARGS, USAGE_BATCH_ARGS + USAGE_ENTRY_ARGS);
    const second = args.slice(USAGE_BATCH_ARGS + USAGE_ENTRY_ARGS);
    expect([first[0], first[11], first[16]]).toEqual(['u', 7, 'bob']);
    expect([second[0], second[11], second[12], second[15]]).toEqual(['b', 0, 'c1', inflightJson(CALL)]);
  });

  it('reads a recovered call back from the JSON the scripts keep', () => {
    const kept = { ...JSON.parse(inflightJson(CALL)), id: 'c1', t: 1234, w: 'w9' };
    expect(recoveredCallOf(JSON.stringify(kept))).toEqual({ ...CALL, countedAtMs: 1234, writerId: 'w9' });
  });
});
