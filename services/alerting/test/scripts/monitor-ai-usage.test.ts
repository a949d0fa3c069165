import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = join(__dirname, '../../../../scripts/monitor-ai-usage.sh');

const USAGE = {
  usage: { total_prompt_tokens: 15420, total_completion_tokens: 8932, total_tokens: 24352, total_requests: 156 },
  alert_threshold: 100000,
  alert_triggered: false,
  estimated_cost_usd: 0.0243,
  last_hour: {
    prompt_tokens: 900,
    completion_tokens: 300,
    total_tokens: 1200,
    requests: 7,
    estimated_cost_usd: 0.0012,
  },
  projection: { hourly_usd: 0.0012, daily_usd: 0.0288, monthly_usd: 0.864 },
};

/** What the loopback "gateway" answers next on each path: [status, body]. */
const answers = new Map<string, [number, string]>();
const seenAuth: string[] = [];

function run(
  env: Record<string, string>,
  args = ['--once'],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [SCRIPT, ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: 15_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('scripts/monitor-ai-usage.sh', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seenAuth.push(String(req.headers.authorization));
      const [status, body] = answers.get(req.url ?? '') ?? [404, '{"error":{"code":"not_found","message":"no"}}'];
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('prints tokens, cost and alert state, sending the token as a Bearer header', async () => {
    answers.set('/api/v1/ai/usage', [200, JSON.stringify(USAGE)]);
    answers.set('/api/v1/alerts', [
      200,
      JSON.stringify({ alerts: [{ name: 'ServiceDown', severity: 'critical', state: 'firing', silenced: false }] }),
    ]);
    const { code, stdout } = await run({ GATEWAY_URL: base, FLASHCASE_TOKEN: 'admin-jwt' });
    expect(code).toBe(0);
    expect(stdout).toContain('tokens last hour: 1200 / 100000 (ok)');
    expect(stdout).toContain('total: 24352 tokens, 156 requests, $0.0243');
    expect(stdout).toContain('alerts firing: ServiceDown(critical)');
    expect(seenAuth).toContain('Bearer admin-jwt');
  });

  it('keeps going when only the alerts call fails, and says so', async () => {
    answers.set('/api/v1/ai/usage', [200, JSON.stringify({ ...USAGE, alert_triggered: true })]);
    answers.set('/api/v1/alerts', [502, '{"error":{"code":"upstream_error","message":"down"}}']);
    const { code, stdout } = await run({ GATEWAY_URL: base, FLASHCASE_TOKEN: 't' });
    expect(code).toBe(0);
    expect(stdout).toContain('(ALERT)');
    expect(stdout).toContain('alerts: unavailable (HTTP 502)');
  });

  it('exits non-zero with a clear message when FLASHCASE_TOKEN is missing', async () => {
    const { code, stderr } = await run({ GATEWAY_URL: base });
    expect(code).not.toBe(0);
    expect(stderr).toContain('FLASHCASE_TOKEN is not set');
  });

  it('exits non-zero on an HTTP error, naming the status and the error code', async () => {
    answers.set('/api/v1/ai/usage', [403, '{"error":{"code":"forbidden","message":"Admin role required"}}']);
    const { code, stderr } = await run({ GATEWAY_URL: base, FLASHCASE_TOKEN: 't' });
    expect(code).not.toBe(0);
    expect(stderr).toContain('HTTP 403');
    expect(stderr).toContain('not an admin token');
  });

  it('exits non-zero on an answer that is not the usage JSON', async () => {
    answers.set('/api/v1/ai/usage', [200, '<html>proxy error</html>']);
    const bad = await run({ GATEWAY_URL: base, FLASHCASE_TOKEN: 't' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('did not answer the usage JSON');
    answers.set('/api/v1/ai/usage', [200, '{"usage":{}}']);
    expect((await run({ GATEWAY_URL: base, FLASHCASE_TOKEN: 't' })).code).not.toBe(0);
  });

  it('exits non-zero when the gateway does not answer', async () => {
    const { code, stderr } = await run({ GATEWAY_URL: 'http://127.0.0.1:1', FLASHCASE_TOKEN: 't' });
    expect(code).not.toBe(0);
    expect(stderr).toContain('no answer');
  });

  it('refuses an interval that is not a whole number of seconds', async () => {
    const { code, stderr } = await run({ GATEWAY_URL: base, FLASHCASE_TOKEN: 't' }, ['soon']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown argument');
  });
});
