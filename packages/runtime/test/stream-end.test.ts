import { describe, expect, it } from 'vitest';
import { streamEndDelayMs } from '../src/stream-end';

describe('when shutdown ends the streams still open', () => {
  it.each([
    [25_000, 20_000],
    [60_000, 55_000],
    [30_000, 25_000],
  ])('keeps the whole 5 s margin under a long grace (%i ms: at %i ms)', (grace, endsAt) => {
    expect(streamEndDelayMs(grace)).toBe(endsAt);
  });

  it.each([
    [24_999, 20_000],
    [6_000, 4_800],
    [5_000, 4_000],
    [4_000, 3_200],
    [1_000, 800],
    [7, 6],
  ])('leaves a fifth of a short grace as the margin (%i ms: at %i ms)', (grace, endsAt) => {
    expect(streamEndDelayMs(grace)).toBe(endsAt);
  });

  it('never ends them at once when the grace leaves any time, nor after the connections are cut', () => {
    for (const grace of [1, 2, 4, 5, 9, 100, 4_000, 5_000, 24_999, 25_000, 25_001, 2_147_483_647]) {
      const endsAt = streamEndDelayMs(grace);
      expect(endsAt, `grace ${grace}`).toBeGreaterThan(0);
      expect(endsAt, `grace ${grace}`).toBeLessThanOrEqual(grace);
      expect(grace - endsAt, `grace ${grace}`).toBeLessThanOrEqual(5_000);
      expect(Number.isInteger(endsAt), `grace ${grace}`).toBe(true);
    }
  });

  it('ends them at the cut when the grace is too short for a margin', () => {
    expect(streamEndDelayMs(1)).toBe(1);
    expect(streamEndDelayMs(4)).toBe(4);
  });

  it('ends them at once for a grace of none', () => {
    expect(streamEndDelayMs(0)).toBe(0);
    expect(streamEndDelayMs(-1)).toBe(0);
    expect(streamEndDelayMs(Number.NaN)).toBe(0);
  });

  it.each([
    [25_000, 22_500],
    [6_000, 5_400],
    [4_000, 3_600],
    [7, 7],
  ])("ends the gateway's half the margin before the cut, after ai-proxy's (%i ms: at %i ms)", (grace, endsAt) => {
    expect(streamEndDelayMs(grace, 'half')).toBe(endsAt);
    expect(streamEndDelayMs(grace, 'half')).toBeGreaterThanOrEqual(streamEndDelayMs(grace));
  });
});
