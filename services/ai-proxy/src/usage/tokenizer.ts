import type { ChatMessage, UpstreamRequest } from '../operations/upstream-request';

type CountTokens = (text: string) => number;

let countTokens: CountTokens | undefined;

function tokenizer(): CountTokens {
  // NOTE: Grok's tokenizer is not published; o200k_base (GPT-4o's) is a close estimator for
  // English text. Loaded on first use: its ranks table is several MB.
  countTokens ??= (require('gpt-tokenizer/encoding/o200k_base') as { countTokens: CountTokens }).countTokens;
  return countTokens;
}

/** About 4 characters a token: the estimate where the tokenizer's cost is not worth its precision. */
const roughCount: CountTokens = (text) => Math.ceil(text.length / 4);

/** Per-message framing overhead of chat formats (role markers), as OpenAI documents it. */
const TOKENS_PER_MESSAGE = 4;
const TOKENS_PER_REPLY = 3;
/** One image in a prompt: the upper end of what the providers bill for an image (an estimate). */
const IMAGE_TOKENS = 1_792;

/** What a prompt estimate reads: the messages, and the tool definitions and schema the model sees. */
export type PromptSource = Pick<UpstreamRequest, 'messages' | 'extra'>;

/** The text of a message's content: a string as is, text parts joined, anything else ''. */
export function messageText(message: ChatMessage | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) if (typeof part.text === 'string') text += part.text;
  return text;
}

function estimate({ messages, extra }: PromptSource, count: CountTokens): number {
  let total = TOKENS_PER_REPLY;
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE;
    const content = message.content;
    if (typeof content === 'string') {
      total += count(content);
    } else if (Array.isArray(content)) {
      for (const part of content) {
        if (typeof part.text === 'string') total += count(part.text);
        else if (part.type === 'image_url') total += IMAGE_TOKENS;
      }
    }
    if (message.tool_calls) {
      for (const call of message.tool_calls) total += count(call.function.name) + count(call.function.arguments);
    }
  }
  if (extra !== undefined) {
    // The provider puts tool definitions and a JSON schema into the prompt it bills.
    if (Array.isArray(extra.tools) && extra.tools.length > 0) total += count(JSON.stringify(extra.tools));
    const format = extra.response_format as { type?: unknown; json_schema?: unknown } | undefined;
    if (format?.type === 'json_schema') total += count(JSON.stringify(format.json_schema ?? null));
  }
  return total;
}

/** Estimated prompt tokens of a chat request, for budgets and for usage an upstream never sent. */
export function estimatePromptTokens(request: PromptSource): number {
  return estimate(request, tokenizer());
}

/**
 * A tokenizer-free prompt estimate (about 4 characters a token, plus the framing): for the
 * in-flight record every call writes, where the tokenizer's cost is not worth its precision.
 */
export function roughPromptTokens(request: PromptSource): number {
  return estimate(request, roughCount);
}

/** Estimated tokens of generated text (a stream cut short). */
export function estimateTextTokens(text: string): number {
  return text.length === 0 ? 0 : tokenizer()(text);
}

/** Loads the tokenizer now, so the first cut-short stream does not pay for it. */
export function warmTokenizer(): void {
  tokenizer();
}
