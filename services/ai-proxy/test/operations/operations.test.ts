import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { API_KEY, type DoneEvent, doneEvent, type Harness, readSse, startHarness } from '../helpers/harness';

interface OperationAnswer {
  id: string;
  model: string;
  operation: string;
  content: string;
  finish_reason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  cost_estimate_usd: number;
}

describe('ai-proxy operations against an OpenAI-compatible upstream', () => {
  let h: Harness;
  beforeAll(async () => {
    // No prompt cache: a repeated prompt must get the same figures as the first (streamed vs plain).
    h = await startHarness({
      env: { RATE_LIMIT_AI_PER_MINUTE: '0', RATE_LIMIT_AI_PER_HOUR: '0' },
      fake: { promptCache: false },
    });
  });
  afterAll(() => h.close());
  beforeEach(() => h.fake.reset());

  it('answers chat with the upstream content, its exact usage and the priced cost', async () => {
    const res = await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'What is ATP?' }] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as OperationAnswer;
    const sent = h.fake.requests.at(-1);
    expect(sent?.path).toBe('/v1/chat/completions');
    expect(sent?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(sent?.body).toMatchObject({ model: 'grok-4-fast', temperature: 0.7, max_tokens: 2000, stream: false });
    expect(body.operation).toBe('chat');
    expect(body.content.length).toBeGreaterThan(0);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    // xAI's answer carries the bill: that is the cost
    const billed =
      (h.fake.answers.at(-1)?.usage as { cost_in_usd_ticks: number } | undefined)?.cost_in_usd_ticks ?? Number.NaN;
    expect(body.cost_estimate_usd).toBe(billed / 1e10);
  });

  it('clamps max_tokens to the operation cap and never passes a larger value through', async () => {
    await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'hi' }], max_tokens: 50_000 });
    expect(h.fake.requests.at(-1)?.body).toMatchObject({ max_tokens: 2000 });
    await h.post('/api/v1/ai/rewrite', { text: 'mitochondria make energy', max_tokens: 5000 });
    expect(h.fake.requests.at(-1)?.body).toMatchObject({ max_tokens: 1000 });
    await h.post('/api/v1/ai/autocomplete', {
      text: 'The powerhouse of the cell is',
      max_tokens: 12,
      temperature: 0.1,
    });
    expect(h.fake.requests.at(-1)?.body).toMatchObject({ max_tokens: 12, temperature: 0.1 });
    await h.post('/api/v1/ai/autocomplete', { text: 'The powerhouse of the cell is' });
    expect(h.fake.requests.at(-1)?.body).toMatchObject({ max_tokens: 500 });
  });

  it('builds flashcard prompts for rewrite and autocomplete', async () => {
    const res = await h.post('/api/v1/ai/rewrite', { text: 'ATP is energy', instruction: 'Make it a question' });
    expect(((await res.json()) as OperationAnswer).operation).toBe('rewrite');
    const messages =
      (h.fake.requests.at(-1)?.body as { messages: Array<{ role: string; content: string }> } | undefined)?.messages ??
      [];
    expect(messages[0]?.role).toBe('system');
    expect(messages[0]?.content).toMatch(/flashcard/i);
    expect(messages[1]?.content).toContain('ATP is energy');
    expect(messages[1]?.content).toContain('Make it a question');
    await h.post('/api/v1/ai/autocomplete', { text: 'Photosynthesis converts' });
    const auto =
      (h.fake.requests.at(-1)?.body as { messages: Array<{ role: string; content: string }> } | undefined)?.messages ??
      [];
    expect(auto[0]?.content).toMatch(/continu/i);
    expect(auto[1]?.content).toBe('Photosynthesis converts');
  });

  it('streams deltas as SSE and ends with the exact usage from the final upstream chunk', async () => {
    const res = await h.post('/api/v1/ai/chat', {
      messages: [{ role: 'user', content: 'Explain osmosis' }],
      stream: true,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = await readSse(res);
    expect(h.fake.requests.at(-1)?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const deltas = events.filter((e): e is { delta: string } => typeof e === 'object' && e !== null && 'delta' in e);
    expect(deltas.length).toBeGreaterThan(1);
    const done = doneEvent(events) as DoneEvent;
    expect(events.at(-1)).toBe('[DONE]');
    // the fake's usage for the same request, asked without streaming, is the reference
    const reference = (await (
      await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'Explain osmosis' }] })
    ).json()) as OperationAnswer;
    expect(done.usage).toEqual(reference.usage);
    expect(deltas.map((d) => d.delta).join('')).toBe(reference.content);
    expect(done.cost_estimate_usd).toBe(reference.cost_estimate_usd);
  });

  it('speaks OpenAI Chat Completions to the official openai SDK, plain and streaming', async () => {
    const client = new OpenAI({
      baseURL: `${h.base}/api/v1/ai`,
      apiKey: 'unused',
      defaultHeaders: h.as('sdk-user'),
    });
    const completion = await client.chat.completions.create({
      model: 'grok-4-fast',
      messages: [{ role: 'user', content: 'Define entropy' }],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);

    const stream = await client.chat.completions.create({
      model: 'grok-4-fast',
      messages: [{ role: 'user', content: 'Define entropy' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(completion.choices[0]?.message.content);
    expect(usage).toEqual(completion.usage);

    // without include_usage the client gets no usage chunk, though we still counted it
    const quiet = await client.chat.completions.create({
      model: 'grok-4-fast',
      messages: [{ role: 'user', content: 'Define entropy' }],
      stream: true,
    });
    let sawUsage = false;
    for await (const chunk of quiet) if (chunk.usage) sawUsage = true;
    expect(sawUsage).toBe(false);
    expect(h.fake.requests.at(-1)?.body).toMatchObject({ stream_options: { include_usage: true } });
  });

  it('rejects invalid bodies with invalid_request naming the field', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['/api/v1/ai/chat', { messages: [] }, 'messages'],
      ['/api/v1/ai/chat', { messages: [{ role: 'wizard', content: 'x' }] }, 'messages.0.role'],
      ['/api/v1/ai/chat', { messages: [{ role: 'user', content: 'x' }], temperature: 9 }, 'temperature'],
      ['/api/v1/ai/rewrite', { text: 42 }, 'text'],
      ['/api/v1/ai/autocomplete', { text: 'x', max_tokens: -1 }, 'max_tokens'],
      ['/api/v1/ai/chat/completions', { messages: [{ role: 'user', content: 'x' }], n: 5 }, 'n'],
      ['/api/v1/ai/chat/completions', { messages: [{ role: 'wizard', content: 'x' }] }, 'messages.0.role'],
      ['/api/v1/ai/chat/completions', { messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.tool_call_id'],
      [
        '/api/v1/ai/chat/completions',
        { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] },
        'messages.0.content',
      ],
      [
        '/api/v1/ai/chat/completions',
        { messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema' } },
        'response_format',
      ],
      [
        '/api/v1/ai/chat/completions',
        { messages: [{ role: 'user', content: 'x' }], stream_options: {} },
        'stream_options',
      ],
      ['/api/v1/ai/chat/completions', { messages: [{ role: 'user', content: 'x' }], tools: 'all' }, 'tools'],
      ['/api/v1/ai/chat', [1, 2], 'body'],
    ];
    for (const [path, body, field] of cases) {
      const res = await h.post(path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('invalid_request');
      expect(error.message).toContain(field);
    }
    const notJson = await h.post('/api/v1/ai/chat', '{"messages": [');
    expect(notJson.status).toBe(400);
    expect(h.fake.requests).toHaveLength(0);
  });

  it('refuses callers without the internal token, and callers without an identity', async () => {
    const noToken = await fetch(`${h.base}/api/v1/ai/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-flashcase-user-id': 'u1' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(noToken.status).toBe(401);
    const wrongToken = await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'x' }] }, 'u1', {
      'x-internal-token': 'nope',
    });
    expect(wrongToken.status).toBe(401);
    const noUser = await fetch(`${h.base}/api/v1/ai/usage/me`, {
      headers: { 'x-internal-token': h.as('x')['x-internal-token'] ?? '' },
    });
    expect(noUser.status).toBe(401);
    const health = await fetch(`${h.base}/api/v1/health`);
    expect(health.status).toBe(200);
    expect(h.fake.requests).toHaveLength(0);
  });

  it('answers the seed health shape on /api/v1/ai/health', async () => {
    const res = await fetch(`${h.base}/api/v1/ai/health`, { headers: h.as('anyone') });
    expect(await res.json()).toEqual({
      status: 'healthy',
      grok_configured: true,
      courtlistener_configured: false,
      provider: 'xai',
      rate_limiting: { enabled: false, ai_per_minute: 0, ai_per_hour: 0 },
      cost_control: { model: 'grok-4-fast', token_tracking_enabled: true, alert_threshold: 100000 },
    });
  });
});

describe('ai-proxy without an API key', () => {
  it('answers 503 ai_not_configured and sends nothing upstream', async () => {
    const h = await startHarness({ env: { XAI_API_KEY: '', AI_PROVIDER: 'xai' } });
    try {
      const res = await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'x' }] });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ai_not_configured');
      expect(h.fake.requests).toHaveLength(0);
    } finally {
      await h.close();
    }
  });
});
