import { assertCount } from '../limits/validate';
import { GLOBAL_BUCKET_RETENTION_MS } from '../time';
import type { InflightCall, RecoveredCall } from '../types';
import { assertPeriods } from '../usage/periods';

/** A recovered call's tombstone lives this long: its replica's late record can correct it until then. */
export const TOMBSTONE_TTL_MS = GLOBAL_BUCKET_RETENTION_MS;

/** Throws RangeError when an in-flight call cannot be written exactly. */
export function assertInflightCall(call: InflightCall): void {
  for (const [name, value] of [
    ['callId', call.callId],
    ['userId', call.userId],
    ['model', call.model],
    ['operation', call.operation],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0) throw new RangeError(`${name} must be a non-empty string`);
  }
  assertCount(call.estimate.promptTokens, 'estimate.promptTokens');
  assertCount(call.estimate.completionTokens, 'estimate.completionTokens');
  assertCount(call.estimate.costTicks, 'estimate.costTicks');
  if (call.periods !== undefined) assertPeriods(call.periods);
}

/** An in-flight call as the scripts keep it (the recovery script reads these names). */
export function inflightJson(call: InflightCall): string {
  return JSON.stringify({
    u: call.userId,
    m: call.model,
    o: call.operation,
    p: call.estimate.promptTokens,
    c: call.estimate.completionTokens,
    ct: call.estimate.costTicks,
    ...(call.requestId ? { q: call.requestId } : {}),
    ...(call.traceId ? { tr: call.traceId } : {}),
    ...(call.periods ? { ph: call.periods.hour, pd: call.periods.day, pm: call.periods.month } : {}),
  });
}

/** A call the recovery script counted, from its JSON (`inflightJson`'s names plus `id`, `t` and `w`). */
export function recoveredCallOf(json: unknown): RecoveredCall {
  const call = JSON.parse(String(json)) as {
    id: string;
    u: string;
    m: string;
    o: string;
    p: number;
    c: number;
    ct: number;
    t: number;
    w: string;
    q?: string;
    tr?: string;
    ph?: string;
    pd?: string;
    pm?: string;
  };
  return {
    callId: call.id,
    userId: call.u,
    model: call.m,
    operation: call.o,
    estimate: { promptTokens: call.p, completionTokens: call.c, costTicks: call.ct },
    countedAtMs: call.t,
    writerId: call.w,
    ...(call.q ? { requestId: call.q } : {}),
    ...(call.tr ? { traceId: call.tr } : {}),
    ...(call.ph && call.pd && call.pm ? { periods: { hour: call.ph, day: call.pd, month: call.pm } } : {}),
  };
}
