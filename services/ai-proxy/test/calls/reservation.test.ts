import { EmbeddedStore } from '@flashcase/store';
import { AILogger, createInstruments, getLogger, setupLogging } from '@flashcase/telemetry';
import { LineCapture, testMeters } from '@flashcase/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { ReportPeriods } from '../../src/budgets/periods';
import { inflightRecord, worstCase } from '../../src/calls/reservation';
import type { UpstreamRequest } from '../../src/operations/upstream-request';
import { UsageAccounting } from '../../src/usage/accounting';
import { BUILT_IN_PRICING, priceTicks } from '../../src/usage/pricing';
import { plainUsage } from '../../src/usage/token-usage';
import { estimatePromptTokens, roughPromptTokens } from '../../src/usage/tokenizer';

// the unpriced model's warning goes to a capture, not the test output
setupLogging({ environment: 'test', stream: new LineCapture(), otlp: false });
const meters = testMeters();
const store = new EmbeddedStore({ pruneIntervalMs: 0 });
const accounting = new UsageAccounting({
  store,
  instruments: createInstruments(meters.meter),
  aiLogger: new AILogger(getLogger('ai-proxy.usage')),
  log: getLogger('ai-proxy.usage'),
  pricing: BUILT_IN_PRICING,
  trackingEnabled: true,
  providerName: 'x_ai',
  periods: new ReportPeriods('Europe/Berlin'),
});
afterAll(async () => {
  await store.close();
  await meters.shutdown();
});

function request(overrides: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return {
    operation: 'chat',
    model: 'grok-4',
    messages: [
      { role: 'system', content: 'You answer questions about biology.' },
      { role: 'user', content: 'How do ribosomes read messenger RNA, codon by codon?' },
    ],
    temperature: 0.7,
    maxTokens: 200,
    choices: 1,
    stream: false,
    ...overrides,
  };
}

describe('the in-flight record of a call', () => {
  it('holds the rough prompt and the whole max_tokens of every choice, at the table price', () => {
    const req = request({ choices: 3 });
    const record = inflightRecord('user-7', req, accounting);
    const prompt = roughPromptTokens(req);
    expect(record).toMatchObject({ userId: 'user-7', model: 'grok-4', operation: 'chat' });
    expect(record.estimate).toEqual({
      promptTokens: prompt,
      completionTokens: 600,
      costTicks: priceTicks(BUILT_IN_PRICING, 'grok-4', plainUsage(prompt, 600)),
    });
    expect(record.estimate.costTicks).toBeGreaterThan(0);
  });

  it('counts in the report periods of now, under a fresh call id each time', () => {
    const first = inflightRecord('user-7', request(), accounting);
    const second = inflightRecord('user-7', request(), accounting);
    expect(first.callId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.callId).not.toBe(first.callId);
    expect(first.periods).toEqual(accounting.periodsNow());
    expect(first.periods).toBeDefined();
  });

  it('costs nothing for a model the table does not price', () => {
    expect(inflightRecord('user-7', request({ model: 'not-a-model' }), accounting).estimate.costTicks).toBe(0);
  });
});

describe('the worst case a budget reserves', () => {
  it("is the tokenizer's prompt count plus max_tokens for every choice, at the table price", () => {
    const req = request({ choices: 2, maxTokens: 150 });
    const worst = worstCase(req, accounting);
    const prompt = estimatePromptTokens(req);
    expect(worst.tokens()).toBe(prompt + 300);
    expect(worst.ticks()).toBe(priceTicks(BUILT_IN_PRICING, 'grok-4', plainUsage(prompt, 300)));
  });

  it('is free for a model the table does not price', () => {
    expect(worstCase(request({ model: 'not-a-model' }), accounting).ticks()).toBe(0);
  });
});
