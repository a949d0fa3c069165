import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { deleteKeys, RATE_LIMITS_OFF } from '@flashcase/testkit';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Chain, startChain, token } from './helpers/chain';

// Real client libraries through gateway -> ai-proxy -> the fake upstream: the official `openai` SDK
// and the Vercel AI SDK's OpenAI-compatible provider. The fake answers tools with tool calls in the
// wire format of the dialect it speaks: xAI sends a streamed call whole in one chunk, OpenAI in
// fragments. Requests whose `user` is `openai-dialect` get OpenAI's; every other one xAI's.

const HINT_TOOL: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'card_hint',
    description: 'A hint for the flashcard on a topic',
    parameters: {
      type: 'object',
      properties: { topic: { type: 'string' }, difficulty: { type: 'integer' } },
      required: ['topic'],
    },
  },
};

interface Recorded {
  body: Record<string, unknown>;
}

describe('real OpenAI clients through the gateway', () => {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `e2e-clients:${process.pid}:${Date.now()}:`;
  let chain: Chain;
  const sdk = (user: string, options: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) =>
    new OpenAI({ baseURL: `${chain.gateway.base}/api/v1/ai`, apiKey: token(user), maxRetries: 0, ...options });
  const lastUpstream = () => chain.fake.requests.at(-1) as unknown as Recorded;
  /** The total tokens of the fake's answers since the `from`th, as it sent them (either dialect). */
  const upstreamTotal = (from: number) =>
    chain.fake.answers
      .slice(from)
      .reduce((sum, answer) => sum + ((answer.usage as { total_tokens?: number } | undefined)?.total_tokens ?? 0), 0);
  const usageOf = async (user: string) => {
    const res = await fetch(`${chain.gateway.base}/api/v1/ai/usage/me`, {
      headers: { authorization: `Bearer ${token(user)}` },
    });
    return ((await res.json()) as { usage: { total_tokens: number; total_requests: number } }).usage;
  };

  beforeAll(async () => {
    chain = await startChain(
      {
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: prefix,
        ...RATE_LIMITS_OFF,
        AI_MAX_TOKENS_CHAT: '300',
      },
      1,
      [],
      {
        record: true,
        dialectOf: (body) => ((body as { user?: unknown }).user === 'openai-dialect' ? 'openai' : 'xai'),
      },
    );
  });
  afterAll(async () => {
    await chain?.stop();
    await deleteKeys(redisUrl, prefix);
  });

  it('makes a tool round trip with the openai SDK (call, tool result, final answer), counted from usage', async () => {
    const client = sdk('tool-user');
    const question = { role: 'user' as const, content: 'Give me a hint about mitochondria' };
    const first = await client.chat.completions.create({
      model: 'grok-4-fast',
      messages: [question],
      tools: [HINT_TOOL],
    });
    const choice = first.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('no function call');
    expect(call.function.name).toBe('card_hint');
    expect(JSON.parse(call.function.arguments)).toHaveProperty('topic');
    expect(lastUpstream().body.tools).toEqual([HINT_TOOL]);

    const conversation = [
      question,
      { role: 'assistant' as const, content: null, tool_calls: [call] },
      { role: 'tool' as const, tool_call_id: call.id, content: 'The powerhouse of the cell' },
    ];
    const final = await client.chat.completions.create({
      model: 'grok-4-fast',
      messages: conversation,
      tools: [HINT_TOOL],
    });
    expect(final.choices[0]?.finish_reason).toBe('stop');
    expect(final.choices[0]?.message.content).toBeTruthy();
    // the tool result reached the model as the client wrote it
    expect(lastUpstream().body.messages).toEqual(conversation);

    const usage = await usageOf('tool-user');
    expect(usage.total_requests).toBe(2);
    expect(usage.total_tokens).toBe((first.usage?.total_tokens ?? 0) + (final.usage?.total_tokens ?? 0));
  });

  it('streams tool calls in both dialects; the SDK reassembles the same call as the whole answer', async () => {
    for (const user of ['openai-dialect', 'xai-dialect']) {
      const client = sdk(user);
      const params = {
        model: 'grok-4-fast',
        messages: [{ role: 'user' as const, content: 'A hint on photosynthesis please' }],
        tools: [HINT_TOOL],
        user,
      };
      const whole = await client.chat.completions.create(params);
      const stream = client.chat.completions.stream({ ...params, stream_options: { include_usage: true } });
      let fragments = 0;
      stream.on('chunk', (chunk) => {
        if (chunk.choices[0]?.delta.tool_calls?.length) fragments += 1;
      });
      const streamed = await stream.finalChatCompletion();
      expect(streamed.choices[0]?.finish_reason, user).toBe('tool_calls');
      const call = streamed.choices[0]?.message.tool_calls?.[0];
      const expected = whole.choices[0]?.message.tool_calls?.[0];
      expect(call?.type === 'function' && call.function, user).toEqual(
        expected?.type === 'function' && expected.function,
      );
      // OpenAI streams a call's arguments in fragments; xAI sends each call whole in one chunk
      if (user === 'openai-dialect') expect(fragments).toBeGreaterThan(1);
      else expect(fragments).toBe(1);
      expect(streamed.usage?.total_tokens).toBeGreaterThan(0);
    }
  });

  it('forwards every parameter it does not control unchanged, and sets the ones it does', async () => {
    const client = sdk('params-user');
    const params = {
      model: 'grok-4',
      messages: [
        { role: 'developer' as const, content: 'You write flashcards.' },
        { role: 'user' as const, content: [{ type: 'text' as const, text: 'Card on ATP' }] },
      ],
      tools: [HINT_TOOL],
      tool_choice: { type: 'function' as const, function: { name: 'card_hint' } },
      parallel_tool_calls: false,
      stop: ['\n\n', 'END'],
      seed: 42,
      top_p: 0.9,
      presence_penalty: 0.5,
      frequency_penalty: -0.25,
      logprobs: true,
      top_logprobs: 2,
      reasoning_effort: 'low' as const,
      user: 'params-user-1',
      max_completion_tokens: 100_000,
      // xAI's own parameter, and one no SDK knows of
      search_parameters: { mode: 'off' },
      x_flashcase_trace: { deck: 'bio-101' },
    } as unknown as ChatCompletionCreateParamsNonStreaming;
    await client.chat.completions.create(params);
    const sent = lastUpstream().body;
    const { model, messages, max_completion_tokens, ...passed } = params as unknown as Record<string, unknown>;
    expect(sent).toMatchObject(passed);
    expect(sent.model).toBe(model);
    expect(sent.messages).toEqual(messages);
    // controlled: the cap clamped under the client's name for it, the default temperature
    expect(max_completion_tokens).toBe(100_000);
    expect(sent.max_completion_tokens).toBe(300);
    expect(sent).not.toHaveProperty('max_tokens');
    expect(sent.temperature).toBe(0.7);

    await client.chat.completions.create({
      model: 'grok-4-fast',
      messages: [{ role: 'user', content: 'Card on DNA' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'card', schema: { type: 'object', properties: { front: { type: 'string' } } } },
      },
      max_tokens: 50,
    });
    expect(lastUpstream().body).toMatchObject({ response_format: { type: 'json_schema' }, max_tokens: 50 });
  });

  it('relays the answer unchanged: every choice, logprobs, system_fingerprint, refusal, reasoning_content', async () => {
    const client = sdk('relay-user');
    const answer = await client.chat.completions.create({
      model: 'grok-3-mini',
      messages: [{ role: 'user', content: 'Two cards on enzymes' }],
      n: 2,
      logprobs: true,
      top_logprobs: 1,
    });
    expect(answer.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(answer.system_fingerprint).toMatch(/^fp_/);
    for (const choice of answer.choices) {
      expect(choice.message.refusal).toBeNull();
      expect(choice.logprobs?.content?.length).toBeGreaterThan(0);
      expect((choice.message as { reasoning_content?: string }).reasoning_content).toBeTruthy();
    }
    const usage = await usageOf('relay-user');
    expect(usage.total_tokens).toBe(answer.usage?.total_tokens);

    // a stream: reasoning deltas before the content, every choice by index, the usage chunk last
    const stream = await client.chat.completions.create({
      model: 'grok-3-mini',
      messages: [{ role: 'user', content: 'Two cards on enzymes' }],
      n: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    const indexes = new Set<number>();
    let reasoning = '';
    let total = 0;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        indexes.add(choice.index);
        reasoning += (choice.delta as { reasoning_content?: string }).reasoning_content ?? '';
      }
      if (chunk.usage) total = chunk.usage.total_tokens;
    }
    expect([...indexes].sort()).toEqual([0, 1]);
    expect(reasoning.length).toBeGreaterThan(0);
    expect((await usageOf('relay-user')).total_tokens).toBe((answer.usage?.total_tokens ?? 0) + total);
  });

  it("lists the models and raises the SDK's own error classes for 400, 401, 403, 404 and 429 through the gateway", async () => {
    const client = sdk('errors-user');
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['grok-4-fast', 'grok-4', 'grok-3-mini']));
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (e: unknown) => e,
      );

    const tooMany = await failure(
      client.chat.completions.create({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'x' }], n: 5 }),
    );
    expect(tooMany).toBeInstanceOf(OpenAI.BadRequestError);
    expect((tooMany as InstanceType<typeof OpenAI.APIError>).message).toContain('AI_MAX_N');
    const badToken = await failure(
      new OpenAI({ baseURL: `${chain.gateway.base}/api/v1/ai`, apiKey: 'not-a-jwt', maxRetries: 0 }).models.list(),
    );
    expect(badToken).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(await failure(client.get('/usage'))).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(await failure(client.models.retrieve('gpt-4o'))).toBeInstanceOf(OpenAI.NotFoundError);

    // an admin caps this user's day below any call's worst case: 429 budget_exceeded
    const capped = await fetch(`${chain.gateway.base}/api/v1/ai/budgets/users/errors-user`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token('ops', 'admin')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ daily_usd: 0.0000001 }),
    });
    expect(capped.status).toBe(200);
    const refused = await failure(
      client.chat.completions.create({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.type).toBe('rate_limit_error');
    expect(error.code).toBe('budget_exceeded');
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
  });

  it("waits for our Retry-After in the openai SDK's own retry", async () => {
    chain.fake.setBehavior({ kind: 'status', status: 429, retryAfterS: 1 });
    const attempts: number[] = [];
    const client = sdk('retry-user', {
      maxRetries: 1,
      fetch: async (url, init) => {
        attempts.push(performance.now());
        const res = await fetch(url, init);
        // the upstream recovers once our 503 with Retry-After is on its way back
        if (res.status === 503) chain.fake.setBehavior({ kind: 'ok' });
        return res;
      },
    });
    const answer = await client.chat.completions.create({
      model: 'grok-4-fast',
      messages: [{ role: 'user', content: 'retry me' }],
    });
    expect(answer.choices[0]?.message.content).toBeTruthy();
    expect(attempts).toHaveLength(2);
    expect((attempts[1] ?? 0) - (attempts[0] ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it('serves the Vercel AI SDK: a tool loop with generateText and a streamed tool call with streamText', async () => {
    const answersBefore = chain.fake.answers.length;
    const provider = createOpenAICompatible({
      name: 'flashcase',
      baseURL: `${chain.gateway.base}/api/v1/ai`,
      apiKey: token('vercel-user'),
      includeUsage: true,
    });
    const seen: string[] = [];
    const cardHint = tool({
      description: 'A hint for the flashcard on a topic',
      inputSchema: z.object({ topic: z.string(), difficulty: z.number().int().optional() }),
      execute: async ({ topic }) => {
        seen.push(topic);
        return `Hint for ${topic}: think of energy`;
      },
    });
    const result = await generateText({
      model: provider('grok-4-fast'),
      prompt: 'Give me a hint about the Krebs cycle',
      tools: { card_hint: cardHint },
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    });
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]?.toolCalls.map((c) => c.toolName)).toEqual(['card_hint']);
    expect(seen).toHaveLength(1);
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.finishReason).toBe('stop');
    // the second step sent the tool's output back as a tool message
    const messages = lastUpstream().body.messages as Array<{ role: string; content: unknown }>;
    expect(messages.at(-1)?.role).toBe('tool');
    expect(JSON.stringify(messages.at(-1)?.content)).toContain('think of energy');

    const streamed = streamText({
      model: provider('grok-4-fast'),
      prompt: 'Give me a hint about the Krebs cycle',
      tools: { card_hint: tool({ description: 'A hint', inputSchema: z.object({ topic: z.string() }) }) },
      maxRetries: 0,
    });
    const calls = await streamed.toolCalls;
    expect(calls.map((c) => c.toolName)).toEqual(['card_hint']);
    expect(await streamed.finishReason).toBe('tool-calls');
    const usage = await usageOf('vercel-user');
    expect(usage.total_requests).toBe(3);
    expect(usage.total_tokens).toBe(upstreamTotal(answersBefore));
  });
});
