import { setTimeout as sleep } from 'node:timers/promises';
import type { UpstreamRequest } from '../operations/upstream-request';
import type { TokenUsage } from '../usage/token-usage';
import { estimatePromptTokens, messageText } from '../usage/tokenizer';
import { readChunk } from './answers';
import type { ChunkSink, CompletionResult, OpenAIChunk, Provider, StreamChunk } from './provider';
import { UpstreamError } from './upstream-error';

/** Grok models that think before they answer (all but grok-3, grok-2 and the `-non-reasoning` names). */
export function isReasoningModel(model: string): boolean {
  return !model.includes('non-reasoning') && model !== 'grok-3' && !model.startsWith('grok-2');
}

const WORDS = (
  'recall review spaced repetition memory card answer question concept definition example summary ' +
  'key term fact detail context practice test explain connect remember understand principle method ' +
  'cause effect process stage structure function property theory evidence result'
).split(' ');

/** A simulated chunk, framed as an upstream would send it. */
function simulatedChunk(raw: OpenAIChunk, usage?: TokenUsage): StreamChunk {
  return readChunk(raw, Buffer.from(`data: ${JSON.stringify(raw)}\n\n`), usage);
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/**
 * The built-in `simulated` provider: no network, deterministic text derived from the prompt,
 * realistic token counts (prompt counted with the tokenizer, one token per generated word), and a
 * configurable latency. For demos and load tests when no `XAI_API_KEY` is set; every answer says
 * it is simulated.
 */
export class SimulatedProvider implements Provider {
  readonly name = 'simulated' as const;

  constructor(private readonly latencyMs: number) {}

  /**
   * The usage of an answer of `words` words, as xAI reports it: reasoning tokens (8-32, for
   * reasoning models) outside `completion_tokens` and inside `total_tokens`; no cache, no bill.
   */
  private usage(req: UpstreamRequest, answerWords: number): { usage: TokenUsage; raw: Record<string, unknown> } {
    const promptTokens = estimatePromptTokens(req);
    const last = messageText(req.messages.at(-1));
    // Every choice is the same answer, generated (and billed) once per choice.
    const words = answerWords * req.choices;
    const reasoning = isReasoningModel(req.model) ? (8 + (hash(`reasoning:${last}`) % 25)) * req.choices : 0;
    return {
      usage: {
        promptTokens,
        completionTokens: words + reasoning,
        reasoningTokens: reasoning,
        cachedPromptTokens: 0,
        sources: 0,
      },
      raw: {
        prompt_tokens: promptTokens,
        completion_tokens: words,
        total_tokens: promptTokens + words + reasoning,
        prompt_tokens_details: { text_tokens: promptTokens, audio_tokens: 0, image_tokens: 0, cached_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: reasoning,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
        num_sources_used: 0,
      },
    };
  }

  private words(req: UpstreamRequest): string[] {
    const last = messageText(req.messages.at(-1));
    let seed = hash(`${req.operation}:${last}`);
    const count = Math.min(req.maxTokens, 12 + (seed % 48));
    const out = ['[simulated]'];
    while (out.length < count) {
      seed = Math.imul(seed ^ (seed >>> 15), 2246822507) >>> 0;
      out.push(WORDS[seed % WORDS.length] ?? 'card');
    }
    return out.slice(0, Math.max(1, count));
  }

  private async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0) return;
    try {
      await sleep(ms, undefined, { signal });
    } catch (err) {
      throw new UpstreamError('aborted', 'Client went away', undefined, undefined, { cause: err });
    }
  }

  async complete(req: UpstreamRequest, signal: AbortSignal): Promise<CompletionResult> {
    await this.wait(this.latencyMs, signal);
    const words = this.words(req);
    const { usage, raw } = this.usage(req, words.length);
    const content = words.join(' ');
    const finishReason = words.length >= req.maxTokens ? 'length' : 'stop';
    const id = `sim-${hash(JSON.stringify(req.messages)).toString(16)}`;
    const created = Math.floor(Date.now() / 1000);
    const choices = Array.from({ length: req.choices }, (_, index) => ({
      index,
      message: { role: 'assistant', content, refusal: null },
      logprobs: null,
      finish_reason: finishReason,
    }));
    return {
      id,
      model: req.model,
      created,
      content,
      finishReason,
      finishReasons: choices.map(() => finishReason),
      generated: content.repeat(req.choices),
      usage,
      rawUsage: raw,
      body: { id, object: 'chat.completion', created, model: req.model, choices, usage: raw },
    };
  }

  async stream(req: UpstreamRequest, signal: AbortSignal, onChunk: ChunkSink): Promise<void> {
    for await (const chunk of this.chunks(req, signal)) {
      const full = onChunk(chunk);
      if (full) await full;
    }
  }

  private async *chunks(req: UpstreamRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    const id = `sim-${hash(JSON.stringify(req.messages)).toString(16)}`;
    const created = Math.floor(Date.now() / 1000);
    const words = this.words(req);
    const base = { id, object: 'chat.completion.chunk', created, model: req.model };
    await this.wait(this.latencyMs, signal);
    for (let i = 0; i < words.length; i++) {
      const delta = i === 0 ? (words[i] ?? '') : ` ${words[i]}`;
      for (let index = 0; index < req.choices; index++) {
        yield simulatedChunk({ ...base, choices: [{ index, delta: { content: delta }, finish_reason: null }] });
      }
      await this.wait(Math.round(this.latencyMs / 20), signal);
    }
    const finishReason = words.length >= req.maxTokens ? 'length' : 'stop';
    for (let index = 0; index < req.choices; index++) {
      yield simulatedChunk({ ...base, choices: [{ index, delta: {}, finish_reason: finishReason }] });
    }
    const { usage, raw } = this.usage(req, words.length);
    yield simulatedChunk({ ...base, choices: [], usage: raw }, usage);
  }

  async close(): Promise<void> {}
}
