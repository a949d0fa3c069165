import { describe, expect, it } from 'vitest';
import { parseFlags } from '../src/flags.ts';

describe('bench flags', () => {
  it('defaults to a-e in 3 rounds of 3 s at 50 connections, from the environment when set', () => {
    const flags = parseFlags([], {});
    expect(flags).toMatchObject({ rounds: 3, durationS: 3, latencyS: 3, streamS: 2, connections: 50 });
    expect(flags.targets).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(flags.soakS).toBeUndefined();
    expect(flags.reportsUsers).toBeUndefined();
    expect(parseFlags([], { BENCH_ROUNDS: '5', BENCH_TARGETS: 'a, d' })).toMatchObject({
      rounds: 5,
      targets: ['a', 'd'],
    });
    expect(Object.isFrozen(flags)).toBe(true);
  });

  it('reads every flag, with the `--` pnpm may pass through', () => {
    const flags = parseFlags(
      [
        '--',
        '--rounds=1',
        '--duration=0.5',
        '--targets=a,d,d-stock-export',
        '--baseline=unpatched:/x',
        '--cpu-prof',
        '--memlog',
        '--out=/tmp/r.json',
      ],
      {},
    );
    expect(flags).toMatchObject({ rounds: 1, durationS: 0.5, cpuProf: true, memlog: true, out: '/tmp/r.json' });
    expect(flags.targets).toEqual(['a', 'd', 'd-stock-export']);
    expect([...flags.baselines]).toEqual([['unpatched', '/x']]);
  });

  it('takes --soak and --reports bare, meaning 120 s and 100 000 users', () => {
    expect(parseFlags(['--soak'], {}).soakS).toBe(120);
    expect(parseFlags(['--soak=30'], {}).soakS).toBe(30);
    expect(parseFlags(['--reports'], {}).reportsUsers).toBe(100_000);
    expect(parseFlags(['--reports=500'], {}).reportsUsers).toBe(500);
  });

  it('takes --streams=N, bare (1000) or max, with one round and 20 chunks 250 ms apart unless told', () => {
    expect(parseFlags([], {})).toMatchObject({ streams: undefined, rounds: 3 });
    expect(parseFlags(['--streams=500'], {})).toMatchObject({
      streams: 500,
      rounds: 1,
      streamChunks: 20,
      streamIntervalMs: 250,
    });
    expect(parseFlags(['--streams'], {}).streams).toBe(1000);
    expect(parseFlags(['--streams=max'], {}).streams).toBe('max');
    expect(parseFlags(['--streams-search'], {}).streams).toBe('max');
    expect(parseFlags(['--streams=10', '--rounds=2'], {}).rounds).toBe(2);
    expect(parseFlags(['--streams=10'], { BENCH_ROUNDS: '4' }).rounds).toBe(4);
    expect(parseFlags(['--streams=10', '--stream-chunks=5', '--stream-interval-ms=100'], {})).toMatchObject({
      streamChunks: 5,
      streamIntervalMs: 100,
    });
    expect(() => parseFlags(['--streams=lots'], {})).toThrow(/^--streams=lots/);
    expect(() => parseFlags(['--stream-interval-ms=0'], {})).toThrow(/^--stream-interval-ms=0/);
  });

  it('refuses a bad number or an unknown flag with a line naming it', () => {
    expect(() => parseFlags(['--rounds=two'], {})).toThrow(/^--rounds=two: expected/);
    expect(() => parseFlags(['--rounds=1.5'], {})).toThrow(/^--rounds=1.5/);
    expect(() => parseFlags(['--duration=0'], {})).toThrow(/^--duration=0/);
    expect(() => parseFlags(['--paired-nope'], {})).toThrow(/paired-nope/);
  });
});
