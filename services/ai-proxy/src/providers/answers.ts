import type { TokenUsage } from '../usage/token-usage';
import type { ChunkDelta, OpenAIChunk, StreamChunk } from './provider';

/** A choice's message or delta, as far as accounting reads it. */
type Generated = Pick<ChunkDelta, 'content' | 'reasoning_content' | 'refusal' | 'tool_calls'> | undefined;

/**
 * The text a message or delta generated: content, reasoning, refusal, tool-call names and
 * arguments (all billed as completion). The content itself, unchanged, when that is all there is.
 */
function generatedText(part: Generated): string {
  if (part === undefined || part === null || typeof part !== 'object') return '';
  let text = typeof part.content === 'string' ? part.content : '';
  if (typeof part.reasoning_content === 'string') text += part.reasoning_content;
  if (typeof part.refusal === 'string') text += part.refusal;
  if (Array.isArray(part.tool_calls)) {
    for (const call of part.tool_calls) {
      const fn = call?.function;
      if (typeof fn?.name === 'string') text += fn.name;
      if (typeof fn?.arguments === 'string') text += fn.arguments;
    }
  }
  return text;
}

/**
 * One stream chunk as accounting reads it (`delta`: choice 0's content), with `wire`, its SSE
 * bytes as relayed to an OpenAI client.
 */
export function readChunk(
  raw: OpenAIChunk,
  wire: Buffer,
  usage: TokenUsage | undefined,
  usageInvalid?: string,
): StreamChunk {
  const choices = Array.isArray(raw.choices) ? raw.choices : undefined;
  const first = choices?.[0];
  const content = (first?.index ?? 0) === 0 ? first?.delta?.content : undefined;
  let generated = '';
  let finishes: Array<{ index: number; reason: string }> | undefined;
  if (choices !== undefined) {
    for (let i = 0; i < choices.length; i++) {
      const choice = choices[i];
      if (choice === null || typeof choice !== 'object') continue;
      generated = i === 0 ? generatedText(choice.delta) : generated + generatedText(choice.delta);
      if (typeof choice.finish_reason === 'string') {
        finishes ??= [];
        finishes.push({ index: typeof choice.index === 'number' ? choice.index : i, reason: choice.finish_reason });
      }
    }
  }
  return {
    wire,
    usageOnly: raw.usage != null && (choices?.length ?? 0) === 0,
    id: typeof raw.id === 'string' ? raw.id : undefined,
    model: typeof raw.model === 'string' ? raw.model : undefined,
    delta: typeof content === 'string' ? content : '',
    generated,
    finishes,
    usage,
    usageInvalid,
  };
}

/** What accounting and our operations read of a whole (non-streamed) answer. */
export interface AnswerReading {
  content: string;
  finishReason: string;
  finishReasons: string[];
  generated: string;
}

/** Reads every choice of an answer; undefined when it has none (a malformed answer). */
export function readAnswer(choices: unknown): AnswerReading | undefined {
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  let content = '';
  let generated = '';
  const finishReasons: string[] = [];
  for (let i = 0; i < choices.length; i++) {
    const choice = choices[i] as { message?: Generated; finish_reason?: unknown } | null;
    if (choice === null || typeof choice !== 'object') return undefined;
    const message = choice.message;
    if (i === 0 && typeof message?.content === 'string') content = message.content;
    generated += generatedText(message);
    finishReasons.push(typeof choice.finish_reason === 'string' ? choice.finish_reason : 'stop');
  }
  return { content, finishReason: finishReasons[0] ?? 'stop', finishReasons, generated };
}
