import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CountersStore, WindowLimit } from '../../../src/index';
import { HOUR, MINUTE } from './fixtures';

/** The rate limit and token budget promises of every `CountersStore`; `current()` is the test's fresh store. */
export function describeLimitsContract(current: () => CountersStore): void {
  let store: CountersStore;

  beforeEach(() => {
    store = current();
  });

  describe('rate limits', () => {
    it('admits at most N of 200 concurrent hits in one rolling window', async () => {
      const windows: WindowLimit[] = [{ name: 'ai_per_minute', limit: 7, windowMs: MINUTE }];
      const decisions = await Promise.all(Array.from({ length: 200 }, () => store.hit('alice', windows)));
      const admitted = decisions.filter((d) => d.allowed);
      expect(admitted).toHaveLength(7);
      expect(new Set(admitted.map((d) => d.remaining))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6]));
      for (const refused of decisions.filter((d) => !d.allowed)) {
        expect(refused.limitName).toBe('ai_per_minute');
        expect(refused.remaining).toBe(0);
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(MINUTE);
      }
      // Still full afterwards: nothing refused was recorded, nothing admitted was lost.
      expect((await store.hit('alice', windows)).allowed).toBe(false);
    });

    it('keeps each key to its own windows', async () => {
      const windows: WindowLimit[] = [{ name: 'ai_per_minute', limit: 1, windowMs: MINUTE }];
      expect((await store.hit('alice', windows)).allowed).toBe(true);
      expect((await store.hit('alice', windows)).allowed).toBe(false);
      expect((await store.hit('bob', windows)).allowed).toBe(true);
    });

    it('checks minute and hour windows together, and a refused hit consumes neither', async () => {
      const windows: WindowLimit[] = [
        { name: 'ai_per_minute', limit: 2, windowMs: 300 },
        { name: 'ai_per_hour', limit: 3, windowMs: HOUR },
      ];
      expect((await store.hit('carol', windows)).allowed).toBe(true);
      expect((await store.hit('carol', windows)).allowed).toBe(true);
      const byMinute = await store.hit('carol', windows);
      expect(byMinute).toMatchObject({ allowed: false, limitName: 'ai_per_minute', limit: 2 });
      expect(byMinute.retryAfterMs).toBeLessThanOrEqual(300);

      // The refused hit was not recorded in the hour window: one more fits once the minute rolls.
      await sleep(byMinute.retryAfterMs + 30);
      const third = await store.hit('carol', windows);
      expect(third).toMatchObject({ allowed: true, limit: 3, remaining: 0 });

      await sleep(330);
      const byHour = await store.hit('carol', windows);
      expect(byHour).toMatchObject({ allowed: false, limitName: 'ai_per_hour', limit: 3, remaining: 0 });
      expect(byHour.retryAfterMs).toBeGreaterThan(HOUR - 10_000);
      expect(byHour.retryAfterMs).toBeLessThanOrEqual(HOUR);
    });

    it('reports the tightest window, remaining, reset and retry-after', async () => {
      const windows: WindowLimit[] = [
        { name: 'ai_per_minute', limit: 5, windowMs: MINUTE },
        { name: 'ai_per_hour', limit: 3, windowMs: HOUR },
      ];
      const first = await store.hit('dave', windows);
      expect(first).toMatchObject({ allowed: true, limit: 3, remaining: 2, resetMs: 0, retryAfterMs: 0 });
      expect((await store.hit('dave', windows)).remaining).toBe(1);
      const last = await store.hit('dave', windows);
      expect(last).toMatchObject({ allowed: true, limit: 3, remaining: 0, retryAfterMs: 0 });
      // Full now: a slot frees when the first hit leaves the hour.
      expect(last.resetMs).toBeGreaterThan(HOUR - 10_000);
      expect(last.resetMs).toBeLessThanOrEqual(HOUR);
      const refused = await store.hit('dave', windows);
      expect(refused).toMatchObject({ allowed: false, limitName: 'ai_per_hour', limit: 3, remaining: 0 });
      expect(refused.retryAfterMs).toBeGreaterThan(HOUR - 10_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(last.resetMs);
      expect(refused.resetMs).toBe(refused.retryAfterMs);
    });

    it('rolls: a hit older than the window no longer counts', async () => {
      const windows: WindowLimit[] = [{ name: 'general_per_minute', limit: 2, windowMs: 300 }];
      expect((await store.hit('erin', windows)).allowed).toBe(true);
      await sleep(120);
      expect((await store.hit('erin', windows)).allowed).toBe(true);
      const refused = await store.hit('erin', windows);
      expect(refused.allowed).toBe(false);
      // The first hit leaves first: about 180 ms from now, not the full 300.
      expect(refused.retryAfterMs).toBeGreaterThan(100);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(200);
      await sleep(refused.retryAfterMs + 30);
      const again = await store.hit('erin', windows);
      expect(again).toMatchObject({ allowed: true, remaining: 0 });
      expect((await store.hit('erin', windows)).allowed).toBe(false);
    });

    it('skips windows whose limit is 0', async () => {
      const off: WindowLimit[] = [{ name: 'ai_per_minute', limit: 0, windowMs: MINUTE }];
      for (let i = 0; i < 20; i++) expect((await store.hit('frank', off)).allowed).toBe(true);
      const mixed: WindowLimit[] = [...off, { name: 'ai_per_hour', limit: 1, windowMs: HOUR }];
      expect((await store.hit('frank', mixed)).allowed).toBe(true);
      expect(await store.hit('frank', mixed)).toMatchObject({ allowed: false, limitName: 'ai_per_hour' });
    });
  });

  describe('token budgets', () => {
    it('never overshoots the budget under 60 concurrent reservations', async () => {
      const decisions = await Promise.all(
        Array.from({ length: 60 }, (_, i) => store.reserveBudget('gina', `r${i}`, 150, 1000, HOUR)),
      );
      const admitted = decisions.filter((d) => d.allowed);
      expect(admitted).toHaveLength(6);
      expect(Math.max(...admitted.map((d) => d.used))).toBe(900);
      for (const refused of decisions.filter((d) => !d.allowed)) {
        expect(refused.used).toBe(900);
        expect(refused.budget).toBe(1000);
        expect(refused.retryAfterMs).toBeGreaterThan(HOUR - 10_000);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(HOUR);
      }
    });

    it('settles a reservation to the real usage and releases it with 0', async () => {
      expect(await store.reserveBudget('hank', 'a', 600, 1000, HOUR)).toMatchObject({ allowed: true, used: 600 });
      expect(await store.reserveBudget('hank', 'b', 600, 1000, HOUR)).toMatchObject({ allowed: false, used: 600 });
      await store.settleBudget('hank', 'a', 200, HOUR);
      expect(await store.reserveBudget('hank', 'b', 600, 1000, HOUR)).toMatchObject({ allowed: true, used: 800 });
      await store.settleBudget('hank', 'b', 0, HOUR);
      await store.settleBudget('hank', 'unknown', 5000, HOUR);
      expect(await store.reserveBudget('hank', 'c', 800, 1000, HOUR)).toMatchObject({ allowed: true, used: 1000 });
      expect(await store.reserveBudget('hank', 'd', 1, 1000, HOUR)).toMatchObject({ allowed: false, used: 1000 });
    });

    it('frees reservations once they leave the window', async () => {
      expect((await store.reserveBudget('ivy', 'a', 400, 1000, 300)).allowed).toBe(true);
      await sleep(100);
      expect((await store.reserveBudget('ivy', 'b', 600, 1000, 300)).allowed).toBe(true);
      const refused = await store.reserveBudget('ivy', 'c', 300, 1000, 300);
      expect(refused).toMatchObject({ allowed: false, used: 1000 });
      // Reservation `a` (400) is enough to make room: it leaves ~200 ms from now (the clocks read
      // whole milliseconds, and a timer may fire on the millisecond before its delay is up).
      expect(refused.retryAfterMs).toBeGreaterThan(100);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(202);
      await sleep(refused.retryAfterMs + 30);
      expect(await store.reserveBudget('ivy', 'c', 300, 1000, 300)).toMatchObject({ allowed: true, used: 900 });
    });

    it('refuses a reservation larger than the whole budget, and budget 0 is off', async () => {
      expect(await store.reserveBudget('jack', 'huge', 1001, 1000, HOUR)).toMatchObject({
        allowed: false,
        used: 0,
        retryAfterMs: HOUR,
      });
      expect(await store.reserveBudget('jack', 'free', 1_000_000, 0, HOUR)).toMatchObject({ allowed: true });
    });
  });
}
