import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/gateway/client';
import { int, percent, share, usd } from '../../src/terminal/style';
import { runCli, type Stack, startStack, traffic } from '../helpers/stack';

describe('pnpm monitor against a running gateway', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A low threshold, so a handful of calls crosses it and the banner turns into an alert.
    stack = await startStack({ TOKEN_USAGE_ALERT_THRESHOLD: '300' });
  });
  afterAll(() => stack.close());

  it('draws the real totals, then the alert banner once the hour crosses the threshold', async () => {
    await traffic(stack, 'student-1', 2);
    const calm = await runCli('monitor', ['--url', stack.base, '--once'], { FLASHCASE_TOKEN: stack.admin });
    expect(calm.code, calm.stderr).toBe(EXIT.ok);
    let usage = await stack.usage();
    expect(usage.alert_triggered).toBe(false);
    const lines = calm.stdout.split('\n');
    const line = (label: string) => lines.find((l) => l.startsWith(label)) ?? '';
    expect(line('Tokens/hour')).toContain(`${int(usage.last_hour.total_tokens)} / ${int(usage.alert_threshold)}`);
    expect(line('Tokens/hour')).toMatch(/\[█*░+\]/);
    expect(line('Requests')).toContain(
      `${int(usage.usage.total_requests)} total · ${int(usage.last_hour.requests)} last hour`,
    );
    expect(line('Tokens ')).toContain(
      `${int(usage.usage.total_tokens)} total (prompt ${int(usage.usage.total_prompt_tokens)} · completion ${int(usage.usage.total_completion_tokens)})`,
    );
    expect(line('Cost')).toContain(`${usd(usage.estimated_cost_usd)} total`);
    expect(line('Cost')).toContain(`${usd(usage.projection.monthly_usd)}/month`);
    // The simulated provider reasons (the default model is a reasoning one) and has no cache or bill.
    expect(usage.usage.total_reasoning_tokens).toBeGreaterThan(0);
    expect(line('Reasoning')).toBe(
      `Reasoning     ${int(usage.usage.total_reasoning_tokens)} total · ${int(usage.last_hour.reasoning_tokens)} last hour (${percent(usage.usage.total_reasoning_tokens / usage.usage.total_completion_tokens)} of completion)`,
    );
    expect(line('Cached prompt')).toBe(
      `Cached prompt ${share(usage.usage.total_cached_prompt_tokens, usage.usage.total_prompt_tokens)} of prompt tokens · ${share(usage.last_hour.cached_prompt_tokens, usage.last_hour.prompt_tokens)} last hour`,
    );
    expect(usage.pricing_check.last_24h.calls_billed).toBe(0);
    expect(line('Pricing, 24 h')).toBe('Pricing, 24 h — no billed calls in the last 24 h');
    expect(line('Operations')).toContain('chat 2');
    expect(calm.stdout).toContain('OK     below the alert threshold');
    // Plain text when piped: no escape codes.
    expect(calm.stdout).not.toContain('\x1b[');

    // About 50 tokens a call (the simulated provider): keep going until the hour crosses 300.
    for (let i = 0; i < 20 && !usage.alert_triggered; i++) {
      await traffic(stack, `student-${i + 2}`, 1);
      usage = await stack.usage();
    }
    expect(usage.alert_triggered).toBe(true);
    const alert = await runCli('monitor', ['--url', stack.base, '--token', stack.admin, '--once']);
    expect(alert.code).toBe(EXIT.ok);
    expect(alert.stdout).toContain(
      `ALERT  ${int(usage.last_hour.total_tokens)} tokens in the last hour >= threshold ${int(usage.alert_threshold)}`,
    );
    expect(alert.stdout).toContain('[████████████████████');
  });

  it('prints one JSON line per poll with --json', async () => {
    const child = spawn(
      process.execPath,
      [join(__dirname, '../../dist/monitor/main.js'), '--url', stack.base, '--json', '--interval', '0.5'],
      { env: { PATH: process.env.PATH, FLASHCASE_TOKEN: stack.admin } },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const deadline = Date.now() + 10_000;
    while (out.split('\n').length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const lines = out.trim().split('\n').slice(0, 3);
    expect(lines).toHaveLength(3);
    const usage = await stack.usage();
    for (const line of lines) {
      const poll = JSON.parse(line) as typeof usage & { polled_at: string };
      expect(Date.parse(poll.polled_at)).not.toBeNaN();
      expect(poll.usage).toEqual(usage.usage);
      expect(poll.alert_threshold).toBe(usage.alert_threshold);
    }
    const once = await runCli('monitor', ['--url', stack.base, '--json', '--once'], { FLASHCASE_TOKEN: stack.admin });
    expect(once.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('exits 3 with the reason and how to get a token when the token is refused', async () => {
    const bad = await runCli('monitor', ['--url', stack.base, '--token', 'not-a-jwt', '--once']);
    expect(bad.code).toBe(EXIT.auth);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('monitor: the gateway refused the token (401 unauthorized');
    expect(bad.stderr).toContain('pnpm run token --user ops --role admin');

    const expired = await runCli('monitor', ['--url', stack.base, '--once'], {
      FLASHCASE_TOKEN: stack.token('ops', 'admin', -120),
    });
    expect(expired.code).toBe(EXIT.auth);
    expect(expired.stderr).toContain('Token expired');

    const student = await runCli('monitor', ['--url', stack.base, '--once', '--json'], {
      FLASHCASE_TOKEN: stack.token('student-1'),
    });
    expect(student.code).toBe(EXIT.auth);
    expect(student.stderr).toContain('403 forbidden');
  });

  it('exits 4 naming the address when nothing listens there', async () => {
    const port = await freePort();
    const down = await runCli('monitor', ['--url', `http://127.0.0.1:${port}`, '--once'], {
      FLASHCASE_TOKEN: stack.admin,
    });
    expect(down.code).toBe(EXIT.connection);
    expect(down.stderr).toContain(`monitor: cannot reach the gateway at http://127.0.0.1:${port} (connection refused)`);
    expect(down.stderr).toContain('pnpm start');
  });

  it('exits 2 with the usage for a bad command line or no token', async () => {
    const none = await runCli('monitor', ['--once']);
    expect(none.code).toBe(EXIT.usage);
    expect(none.stderr).toContain('no token: pass --token or set FLASHCASE_TOKEN');
    const url = await runCli('monitor', ['--url', 'ftp://x', '--once'], { FLASHCASE_TOKEN: 't' });
    expect(url.code).toBe(EXIT.usage);
    expect(url.stderr).toContain('--url must be an http(s) URL');
    const unknown = await runCli('monitor', ['--frobnicate'], { FLASHCASE_TOKEN: 't' });
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toContain('usage: pnpm monitor');
  });
});
