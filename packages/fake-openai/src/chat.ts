import type { ServerResponse } from 'node:http';
import type { Behavior } from './behavior';
import type { ChatRequest } from './chat-request';
import { exposesReasoningContent, type FakeAnswer, fakeAnswer } from './choices';
import { type FakeCompletion, fakeCompletion, isReasoningModel } from './completion';
import type { Delays } from './delays';
import type { Features } from './features';
import { breakOff, JSON_TYPE, sendJson } from './http';
import { type CompiledPrice, compiledCost } from './pricing';
import type { PromptCache } from './prompt-cache';
import type { RecordedAnswer, Recording } from './recording';
import { type StreamReply, sendStream } from './streaming';
import { fakeSourcesUsed, fakeUsage, type UsageDialect } from './usage';
import { type AnswerMeta, answerJson, completionJson, layoutOf, statusErrorJson } from './wire';

/** What answering a chat completion needs of the running fake. */
export interface ChatDeps {
  /** Delay before the first byte of every answer, in ms. */
  latencyMs: number;
  /** Make every natural reply exactly this many completion tokens long. */
  replyTokens: number | undefined;
  /** Bill reasoning tokens for reasoning models. */
  reasoning: boolean;
  promptCache: PromptCache | undefined;
  /** The compiled price table behind xAI's `cost_in_usd_ticks`. */
  prices: ReadonlyMap<string, CompiledPrice>;
  recording: Recording;
  delays: Delays;
  /** The ids of the next answer (`chatcmpl-…` and its `x-request-id`), unique per fake. */
  nextIds(): { id: string; requestId: string };
}

/**
 * Answers one checked chat completion request in `dialect`, as `behavior` says (see `Behavior`):
 * after `latencyMs` (plus a `slow-first-byte` delay), a `status` error, or the deterministic
 * answer as JSON or SSE, with its usage (prompt cache, reasoning, sources and cost included) and
 * faults. A `hang` behaviour never answers. The answer is recorded as it starts, its usage and bill
 * when the usage is on the wire.
 */
export function answerChat(
  res: ServerResponse,
  chat: ChatRequest,
  dialect: UsageDialect,
  behavior: Behavior,
  deps: ChatDeps,
): void {
  const { body: request, maxTokens, stream } = chat;
  let { features } = chat;
  const reasons = deps.reasoning && isReasoningModel(request.model);
  // NOTE: only xAI's Chat Completions carry `reasoning_content` (OpenAI's have no such field).
  const exposeReasoning = reasons && dialect === 'xai' && exposesReasoningContent(request.model);
  if (exposeReasoning && features === undefined) {
    features = { n: 1, calls: [], format: { kind: 'text' }, logprobs: false, topLogprobs: 0 };
  }

  const current = behavior;
  if (current.kind === 'hang') return;
  const delay = deps.latencyMs + (current.kind === 'slow-first-byte' ? current.delayMs : 0);
  deps.delays.after(res, delay, () => {
    if (current.kind === 'status') {
      const headers: Record<string, string> = {};
      if (current.retryAfterS !== undefined) headers['retry-after'] = String(current.retryAfterS);
      sendJson(res, current.status, current.body ?? statusErrorJson(current.status), headers);
      return;
    }
    const { replyTokens } = deps;
    // The plain text answer keeps to `fakeCompletion`; `fakeAnswer` only for requests with features.
    const full =
      features === undefined
        ? undefined
        : fakeAnswer(request.messages, features, { maxTokens, replyTokens, reasoning: reasons, exposeReasoning });
    const plain =
      full === undefined ? fakeCompletion(request.messages, { maxTokens, replyTokens, reasoning: reasons }) : undefined;
    const completion = (full ?? plain) as FakeAnswer | FakeCompletion;
    const cachedTokens = deps.promptCache === undefined ? 0 : deps.promptCache.lookupAndRemember(request.messages);
    const { id, requestId } = deps.nextIds();
    const meta: AnswerMeta = { id, created: Math.floor(Date.now() / 1000), model: request.model };
    const answer: RecordedAnswer = { id, model: request.model, stream, dialect, usage: undefined };
    deps.recording.answer(answer);

    // Built only for an answer that carries usage, so the BigInt pricing stays off the other paths.
    let cost: bigint | undefined;
    const usageOf = (): unknown => {
      if (current.kind === 'usage') return current.usage;
      const xai = dialect === 'xai';
      const figures = {
        promptTokens: completion.promptTokens,
        cachedTokens,
        completionTokens: completion.completionTokens,
        reasoningTokens: completion.reasoningTokens,
        sourcesUsed: xai ? fakeSourcesUsed(request) : 0,
      };
      const price = xai ? deps.prices.get(request.model) : undefined;
      if (price !== undefined) cost = compiledCost(price, figures);
      return fakeUsage(dialect, { ...figures, costInUsdTicks: cost });
    };
    const sent = (usage: unknown) => deps.recording.sent(answer, usage, cost);

    if (stream) {
      const reply: StreamReply =
        plain !== undefined ? { plain } : { full: full as FakeAnswer, layout: layoutOf(features as Features, dialect) };
      sendStream(res, reply, {
        meta,
        requestId,
        includeUsage: request.stream_options?.include_usage === true,
        behavior: current,
        usage: usageOf,
        sent,
        delays: deps.delays,
      });
      return;
    }

    const withUsage = current.kind !== 'no-usage';
    const usage = withUsage ? usageOf() : undefined;
    const json =
      plain !== undefined
        ? completionJson(meta, plain, usage)
        : answerJson(meta, full as FakeAnswer, layoutOf(features as Features, dialect), usage);
    if (current.kind === 'malformed-json') {
      sendJson(res, 200, json.slice(0, Math.floor(json.length / 2)), { 'x-request-id': requestId });
      return;
    }
    if (current.kind === 'stall-stream' || current.kind === 'reset-mid-stream') {
      res.writeHead(200, {
        'content-type': JSON_TYPE,
        'content-length': Buffer.byteLength(json),
        'x-request-id': requestId,
      });
      breakOff(res, json.slice(0, Math.floor(json.length / 2)), current.kind === 'reset-mid-stream');
      return;
    }
    sendJson(res, 200, json, { 'x-request-id': requestId });
    if (withUsage) sent(usage);
  });
}
