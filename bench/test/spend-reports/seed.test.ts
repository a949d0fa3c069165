import { describe, expect, it } from 'vitest';
import { kindOf, usedMemory } from '../../src/spend-reports/redis-memory.ts';
import { prng, seed, userId } from '../../src/spend-reports/seed.ts';

describe('spend-reports seed', () => {
  it('is the same every run', () => {
    const x = prng(19);
    const y = prng(19);
    const draws = Array.from({ length: 5 }, () => x());
    expect(Array.from({ length: 5 }, () => y())).toEqual(draws);
    expect(draws.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('names users with distinct 24-character ids, as JWT subjects look', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => userId(i));
    expect(ids.every((id) => id.length === 24)).toBe(true);
    expect(new Set(ids).size).toBe(1000);
  });

  it("records each user's calls in one month and sums their cost and tokens as recorded", async () => {
    const records: { userId: string; costTicks: number; promptTokens: number; completionTokens: number }[] = [];
    const plan = await seed(50, async (r) => {
      records.push(r);
    });
    expect(plan.records).toBe(records.length);
    expect(new Set(records.map((r) => r.userId)).size).toBe(50);
    const cost = records.filter((r) => r.userId === userId(7)).reduce((n, r) => n + r.costTicks, 0);
    expect(plan.costTicks[7]).toBe(cost);
    expect(plan.month).toMatch(/^m\d{4}-\d{2}$/);
  });

  it('sorts the store keys by kind and period, and reads used_memory', () => {
    expect(kindOf('p:{usage}:user:u1', 'p:')).toBe('user_all_time');
    expect(kindOf('p:{usage}:rk:ct:m2026-01', 'p:')).toBe('rk:ct_m');
    expect(kindOf('p:{usage}:pu:d2026-01-02:u1', 'p:')).toBe('pu_d');
    expect(kindOf('p:other', 'p:')).toBe('other');
    expect(usedMemory('# Memory\r\nused_memory:1234\r\nused_memory_human:1K\r\n')).toBe(1234);
  });
});
