import { afterEach, describe, expect, it } from 'vitest';
import type { Behavior } from '../src/behavior';
import { answerChat, type ChatDeps } from '../src/chat';
import { parseChatRequest } from '../src/chat-request';
import { Delays } from '../src/delays';
import { compilePrices, DEFAULT_PRICES } from '../src/pricing';
import { PromptCache } from '../src/prompt-cache';
import { Recording } from '../src/recording';
import type { UsageDialect } from '../src/usage';
import { type Loopback, serve } from './helpers/loopback';
import { readUntilQuiet } from './helpers/sse';

let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const messages = [{ role: 'user', content: 'What is a ribosome?' }];

/** Answers one request body with `answerChat` on a loopback server. */
async function answer(body: Record<string, unknown>, behavior: Behavior, dialect: UsageDialect = 'xai') {
  let seq = 0;
  const deps: ChatDeps = {
    latencyMs: 0,
    replyTokens: undefined,
    reasoning: true,
    promptCache: new PromptCache(100),
    prices: compilePrices(DEFAULT_PRICES),
    recording: new Recording(true),
    delays: new Delays(),
    nextIds: () => {
      seq += 1;
      return { id: `chatcmpl-t${seq}`, requestId: `req_t${seq}` };
    },
  };
  const chat = parseChatRequest(body);
  server = await serve((_req, res) => answerChat(res, chat, dialect, behavior, deps));
  const res = await fetch(server.url);
  const read = await readUntilQuiet(res.body as ReadableStream<Uint8Array>, 200);
  return { res, ...read, deps };
}

describe('answering a chat completion', () => {
  it('answers, records the answer with its usage, and bills its xAI cost', async () => {
    const { res, text, deps } = await answer({ model: 'grok-4', messages }, { kind: 'ok' });
    expect(res.headers.get('x-request-id')).toBe('req_t1');
    const json = JSON.parse(text);
    expect(json.id).toBe('chatcmpl-t1');
    expect(json.usage.cost_in_usd_ticks).toBeGreaterThan(0);
    expect(deps.recording.answers).toEqual([
      { id: 'chatcmpl-t1', model: 'grok-4', stream: false, dialect: 'xai', usage: json.usage },
    ]);
    expect(deps.recording.billed).toEqual({ calls: 1, ticks: BigInt(json.usage.cost_in_usd_ticks) });
  });

  it('bills nothing in the openai dialect, which carries no cost', async () => {
    const { text, deps } = await answer({ model: 'grok-4', messages }, { kind: 'ok' }, 'openai');
    expect(JSON.parse(text).usage.cost_in_usd_ticks).toBeUndefined();
    expect(deps.recording.billed).toEqual({ calls: 0, ticks: 0n });
    expect(deps.recording.answers[0]?.dialect).toBe('openai');
  });

  it('answers a status behaviour with its status and Retry-After, recording no answer', async () => {
    const { res, deps } = await answer({ model: 'grok-4', messages }, { kind: 'status', status: 429, retryAfterS: 3 });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(deps.recording.answers).toEqual([]);
  });

  it('never answers with hang', async () => {
    let seq = 0;
    const recording = new Recording(true);
    const chat = parseChatRequest({ model: 'grok-4', messages });
    const deps: ChatDeps = {
      latencyMs: 0,
      replyTokens: undefined,
      reasoning: true,
      promptCache: undefined,
      prices: new Map(),
      recording,
      delays: new Delays(),
      nextIds: () => ({ id: `chatcmpl-${++seq}`, requestId: `req_${seq}` }),
    };
    let answered = false;
    server = await serve((_req, res) => {
      answerChat(res, chat, 'xai', { kind: 'hang' }, deps);
      answered = res.headersSent;
    });
    const controller = new AbortController();
    const pending = fetch(server.url, { signal: controller.signal }).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 150));
    controller.abort();
    expect(await pending).toBe('aborted');
    expect(answered).toBe(false);
    expect(recording.answers).toEqual([]);
  });

  it('records a cut-off answer without usage and bills nothing for it', async () => {
    const { text, deps } = await answer({ model: 'grok-4', messages }, { kind: 'malformed-json' });
    expect(() => JSON.parse(text)).toThrow();
    expect(deps.recording.answers[0]?.usage).toBeUndefined();
    expect(deps.recording.billed.calls).toBe(0);
  });

  it('streams reasoning_content for a model that exposes it, in the xai dialect only', async () => {
    const body = { model: 'grok-3-mini', messages, stream: true };
    const xai = await answer(body, { kind: 'ok' }, 'xai');
    expect(xai.text).toContain('"reasoning_content"');
    await server?.close();
    server = undefined;
    const openai = await answer(body, { kind: 'ok' }, 'openai');
    expect(openai.text).not.toContain('"reasoning_content"');
  });
});
