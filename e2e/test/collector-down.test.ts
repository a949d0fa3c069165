import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { freePort, type ServiceProcess, startService } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, chat, INTERNAL_TOKEN } from './helpers/chain';

describe('an unreachable OTLP collector', () => {
  let fake: FakeOpenAI;
  let proxy: ServiceProcess;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: API_KEY, record: false });
    const closedPort = await freePort();
    proxy = await startService('ai-proxy', {
      XAI_API_KEY: API_KEY,
      XAI_BASE_URL: fake.url,
      INTERNAL_TOKEN,
      LOG_LEVEL: 'info',
      RATE_LIMIT_AI_PER_MINUTE: '0',
      RATE_LIMIT_AI_PER_HOUR: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${closedPort}`,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_BLRP_SCHEDULE_DELAY: '100',
      OTEL_EXPORTER_OTLP_TIMEOUT: '300',
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    await fake?.close();
  });

  it('serves every request and says so in one warning per failing export path, not one per request', async () => {
    const outcomes = [];
    for (let i = 0; i < 80; i++) outcomes.push(await chat(proxy.base, `otel-user-${i % 5}`, true));
    expect(outcomes.every((o) => o.status === 200)).toBe(true);
    // several export attempts have failed by now (every 100 ms), yet the log says it a few times only
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const warnings = proxy
      .output()
      .split('\n')
      .filter((line) => line.includes('"telemetry_problem":true'));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(4);
    expect(warnings[0]).toContain('"level":"WARN"');
    expect(warnings[0]).toContain('ECONNREFUSED');
    expect(warnings[0]).not.toContain('at TCPConnectWrap');
    expect((await fetch(`${proxy.base}/api/v1/health`)).status).toBe(200);
  });
});
