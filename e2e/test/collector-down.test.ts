import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { freePort, OtlpReceiver, type ServiceProcess, startService } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, type ChatOutcome, chat, INTERNAL_TOKEN } from './helpers/chain';

const p50 = (outcomes: ChatOutcome[]) =>
  [...outcomes.map((o) => o.ms)].sort((a, b) => a - b)[Math.floor(outcomes.length / 2)];

describe('an unreachable OTLP collector', () => {
  const receiver = new OtlpReceiver();
  let fake: FakeOpenAI;
  let withCollector: ServiceProcess;
  let withoutCollector: ServiceProcess;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: API_KEY, record: false });
    const env = {
      XAI_API_KEY: API_KEY,
      XAI_BASE_URL: fake.url,
      INTERNAL_TOKEN,
      LOG_LEVEL: 'info',
      RATE_LIMIT_AI_PER_MINUTE: '0',
      RATE_LIMIT_AI_PER_HOUR: '0',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_BLRP_SCHEDULE_DELAY: '100',
      OTEL_EXPORTER_OTLP_TIMEOUT: '300',
    };
    withCollector = await startService('ai-proxy', { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: await receiver.start() });
    withoutCollector = await startService('ai-proxy', {
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    });
  });
  afterAll(async () => {
    await withCollector?.stop();
    await withoutCollector?.stop();
    await fake?.close();
    await receiver.stop();
  });

  it('serves every request, and says so in one readable warning, not one per request', async () => {
    const present: ChatOutcome[] = [];
    const absent: ChatOutcome[] = [];
    // interleaved, so machine noise hits both alike
    for (let i = 0; i < 150; i++) {
      present.push(await chat(withCollector.base, `otel-user-${i % 5}`, true));
      absent.push(await chat(withoutCollector.base, `otel-user-${i % 5}`, true));
    }
    expect(present.every((o) => o.status === 200)).toBe(true);
    expect(absent.every((o) => o.status === 200)).toBe(true);
    // several export attempts have failed by now (every 100 ms), yet the log says it a few times only
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const warnings = withoutCollector
      .output()
      .split('\n')
      .filter((line) => line.includes('"telemetry_problem":true'));
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(4);
    expect(warnings[0]).toContain('"level":"WARN"');
    expect(warnings[0]).toContain('ECONNREFUSED');
    expect(warnings[0]).not.toContain('at TCPConnectWrap');
    expect(receiver.spans.length).toBeGreaterThan(0);
    expect((await fetch(`${withoutCollector.base}/api/v1/health`)).status).toBe(200);
    // a figure for docs/reliability.md, not an assertion (timing belongs to the benchmark)
    console.log(
      `collector present p50 ${p50(present)?.toFixed(2)} ms, unreachable p50 ${p50(absent)?.toFixed(2)} ms (150 sequential calls each)`,
    );
  });
});
