import { startTelemetry, type Telemetry } from '@flashcase/telemetry';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestParameterAttributes } from '../../src/calls/genai-span';
import { type Harness, startHarness } from '../helpers/harness';

describe('the GenAI client span', () => {
  const spans = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let h: Harness;
  beforeAll(async () => {
    telemetry = startTelemetry({
      serviceName: 'flashcase-ai-proxy',
      serviceVersion: '0.0.0',
      environment: 'test',
      instrumentations: [],
      spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
      env: {},
    });
    h = await startHarness({ env: { RATE_LIMIT_AI_PER_MINUTE: '0', RATE_LIMIT_AI_PER_HOUR: '0' } });
  });
  afterAll(async () => {
    await h.close();
    await telemetry.shutdown();
  });

  it('is named "{operation} {model}", kind CLIENT, with the gen_ai attributes and usage', async () => {
    const res = await h.post('/api/v1/ai/rewrite', { text: 'ribosomes make proteins', temperature: 0.3 }, 'span-user');
    const body = (await res.json()) as {
      id: string;
      usage: {
        prompt_tokens: number;
        completion_tokens: number;
        reasoning_tokens: number;
        cached_prompt_tokens: number;
      };
      finish_reason: string;
      cost_estimate_usd: number;
    };
    const span = spans.getFinishedSpans().find((s) => s.name === 'rewrite grok-4-fast');
    expect(span).toBeDefined();
    expect(span?.kind).toBe(SpanKind.CLIENT);
    expect(span?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'x_ai',
      'gen_ai.request.model': 'grok-4-fast',
      'gen_ai.request.max_tokens': 1000,
      'gen_ai.request.temperature': 0.3,
      'gen_ai.response.model': 'grok-4-fast',
      'gen_ai.usage.input_tokens': body.usage.prompt_tokens,
      'gen_ai.usage.output_tokens': body.usage.completion_tokens,
      'gen_ai.response.finish_reasons': [body.finish_reason],
      'gen_ai.response.id': body.id,
      'gen_ai.usage.reasoning.output_tokens': body.usage.reasoning_tokens,
      'gen_ai.usage.cache_read.input_tokens': body.usage.cached_prompt_tokens,
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(h.fake.url).port),
      'flashcase.ai.cost_usd': body.cost_estimate_usd,
      'flashcase.ai.cost_source': 'billed',
      'flashcase.ai.operation': 'rewrite',
      'flashcase.ai.tokens_estimated': false,
      'flashcase.user.id': 'span-user',
    });
  });

  it("records the request parameters and every choice's finish reason, tool definitions by name only", async () => {
    const tools = [
      {
        type: 'function',
        function: {
          name: 'card_hint',
          description: 'SECRET-DESCRIPTION',
          parameters: { type: 'object', properties: { topic: { type: 'string' } } },
        },
      },
    ];
    const res = await h.post(
      '/api/v1/ai/chat/completions',
      {
        model: 'grok-4',
        messages: [{ role: 'user', content: 'hint on ATP' }],
        tools,
        n: 2,
        seed: 7,
        top_p: 0.5,
        stop: 'END',
        presence_penalty: 0.25,
        frequency_penalty: 0.5,
        response_format: { type: 'json_object' },
      },
      'span-tools-user',
    );
    const body = (await res.json()) as { choices: Array<{ finish_reason: string }> };
    expect(body.choices).toHaveLength(2);
    const span = spans.getFinishedSpans().find((s) => s.attributes['flashcase.user.id'] === 'span-tools-user');
    expect(span?.attributes).toMatchObject({
      'gen_ai.request.choice.count': 2,
      'gen_ai.request.seed': 7,
      'gen_ai.request.top_p': 0.5,
      'gen_ai.request.stop_sequences': ['END'],
      'gen_ai.request.presence_penalty': 0.25,
      'gen_ai.request.frequency_penalty': 0.5,
      'gen_ai.output.type': 'json',
      'flashcase.ai.request.tool_count': 1,
      'gen_ai.response.finish_reasons': body.choices.map((c) => c.finish_reason),
    });
    expect(body.choices.map((c) => c.finish_reason)).toEqual(['tool_calls', 'tool_calls']);
    expect(JSON.parse(String(span?.attributes['gen_ai.tool.definitions']))).toEqual([
      { type: 'function', name: 'card_hint' },
    ]);
    expect(JSON.stringify(span?.attributes)).not.toContain('SECRET-DESCRIPTION');
  });

  it('is marked as an error with error.type when the upstream fails', async () => {
    h.fake.setBehavior({ kind: 'status', status: 503 });
    await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'x' }] });
    h.fake.setBehavior({ kind: 'ok' });
    const span = spans
      .getFinishedSpans()
      .find((s) => s.name === 'chat grok-4-fast' && s.status.code === SpanStatusCode.ERROR);
    expect(span?.attributes['error.type']).toBe('503');
    expect(span?.events.some((e) => e.name === 'exception')).toBe(true);
  });
});

describe('the request parameters on the GenAI span', () => {
  it('records the semconv parameters of a chat/completions body, tools by type and name only', () => {
    const attributes = requestParameterAttributes({
      seed: 42,
      top_p: 0.9,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      stop: ['\n\n', 'END'],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } },
      tools: [
        { type: 'function', function: { name: 'lookup', description: 'secret prompt text', parameters: {} } },
        { type: 'function', function: { name: 'cite' } },
      ],
      user: 'not recorded',
    });
    expect(attributes).toEqual({
      'gen_ai.request.seed': 42,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.request.presence_penalty': 0.5,
      'gen_ai.request.frequency_penalty': -0.5,
      'gen_ai.request.stop_sequences': ['\n\n', 'END'],
      'gen_ai.output.type': 'json',
      'gen_ai.tool.definitions': JSON.stringify([
        { type: 'function', name: 'lookup' },
        { type: 'function', name: 'cite' },
      ]),
      'flashcase.ai.request.tool_count': 2,
    });
  });

  it('takes a single stop string as a one-element list and a text format as text', () => {
    expect(requestParameterAttributes({ stop: 'END', response_format: { type: 'text' } })).toEqual({
      'gen_ai.request.stop_sequences': ['END'],
      'gen_ai.output.type': 'text',
    });
  });

  it('leaves out fields of the wrong type and an empty tools list', () => {
    expect(requestParameterAttributes({ seed: '42', top_p: null, stop: 7, response_format: null, tools: [] })).toEqual(
      {},
    );
  });
});
