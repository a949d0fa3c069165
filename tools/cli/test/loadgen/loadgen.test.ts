import { freePort } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/gateway/client';
import { planRequest } from '../../src/loadgen/traffic';
import { JWT_SECRET, runCli, type Stack, startStack } from '../helpers/stack';

/** A small deterministic generator (mulberry32) for the mix's statistics. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the load generator', () => {
  it('mixes the three operations and the OpenAI route, streamed and not, with valid bodies', () => {
    const random = seeded(7);
    const plans = Array.from({ length: 2000 }, () => planRequest(random));
    const share = (f: (p: (typeof plans)[number]) => boolean) => plans.filter(f).length / plans.length;
    expect(share((p) => p.operation === 'chat')).toBeCloseTo(0.4, 1);
    expect(share((p) => p.operation === 'rewrite')).toBeCloseTo(0.25, 1);
    expect(share((p) => p.operation === 'autocomplete')).toBeCloseTo(0.2, 1);
    expect(share((p) => p.operation === 'chat/completions')).toBeCloseTo(0.15, 1);
    expect(share((p) => p.stream)).toBeCloseTo(0.4, 1);
    expect(plans.some((p) => p.abortEarly)).toBe(true);
    expect(plans.every((p) => !p.abortEarly || p.stream)).toBe(true);
    for (const p of plans) expect(p.body.stream ?? false).toBe(p.stream);
  });

  describe('against a running gateway', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack();
    });
    afterAll(() => stack.close());

    it('drives mixed traffic for --duration at --rps, with a rate-limit burst, and the usage shows it', async () => {
      const run = await runCli('loadgen', ['--url', stack.base, '--duration', '4', '--rps', '10', '--users', '30'], {
        JWT_SECRET,
      });
      expect(run.code, run.stderr).toBe(EXIT.ok);
      // Progress on stderr (one line every few seconds when not a terminal), the summary on stdout.
      expect(run.stderr).toMatch(/loadgen \[[█░]+\] \d+\/4s {2}sent \d+/);
      const sent = Number(/loadgen: (\d+) requests in/.exec(run.stdout)?.[1]);
      const ok = Number(/ (\d+) ok · /.exec(run.stdout)?.[1]);
      const limited = Number(/ (\d+) rate-limited \(429\)/.exec(run.stdout)?.[1]);
      const closed = Number(/ (\d+) streams closed early/.exec(run.stdout)?.[1]);
      const skipped = Number(/ (\d+) ticks skipped/.exec(run.stdout)?.[1] ?? 0);
      // 40 ticks in 4 s at 10/s (a tick finding the concurrency cap full is skipped, not queued),
      // plus one burst of 8 from a fresh user after 3 s: 5 admitted, 3 refused by the AI limit.
      expect(sent - 8 + skipped).toBeGreaterThanOrEqual(38);
      expect(sent - 8 + skipped).toBeLessThanOrEqual(42);
      expect(limited).toBe(3);
      expect(ok + limited + closed).toBe(sent);
      expect(run.stdout).toContain(`watch it: ${stack.base}/dashboard`);

      const usage = await stack.usage();
      // Every admitted request reached upstream (closed streams are counted by ai-proxy too).
      expect(usage.usage.total_requests).toBe(ok + closed);
      expect(Object.keys(usage.by_operation).sort()).toEqual(['autocomplete', 'chat', 'rewrite']);
      expect(usage.last_hour.total_tokens).toBeGreaterThan(0);
    });

    it('exits 3 when the gateway refuses its tokens (another JWT_SECRET)', async () => {
      const run = await runCli('loadgen', ['--url', stack.base, '--duration', '3', '--rps', '5'], {
        JWT_SECRET: 'some-other-secret-0123456789abcdef-0123456789',
      });
      expect(run.code).toBe(EXIT.auth);
      expect(run.stderr).toContain('refused the load generator’s tokens (401)');
    });
  });

  it('exits 4 naming the address when the gateway is not running', async () => {
    const port = await freePort();
    const run = await runCli('loadgen', ['--url', `http://127.0.0.1:${port}`, '--duration', '5', '--rps', '5']);
    expect(run.code).toBe(EXIT.connection);
    expect(run.stderr).toContain(`cannot reach the gateway at http://127.0.0.1:${port} (connection refused)`);
    expect(run.stderr).toContain('pnpm start');
  });
});
