import type { ChatMessage } from '../operations/types';

type CountTokens = (text: string) => number;

let countTokens: CountTokens | undefined;

function tokenizer(): CountTokens {
  // NOTE: Grok's tokenizer is not published; o200k_base (GPT-4o's) is a close estimator for
  // English text. Loaded on first use: its ranks table is several MB.
  countTokens ??= (require('gpt-tokenizer/encoding/o200k_base') as { countTokens: CountTokens }).countTokens;
  return countTokens;
}

/** Per-message framing overhead of chat formats (role markers), as OpenAI documents it. */
const TOKENS_PER_MESSAGE = 4;
const TOKENS_PER_REPLY = 3;

/** Estimated prompt tokens of a chat request, for budgets and for usage an upstream never sent. */
export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  const count = tokenizer();
  let total = TOKENS_PER_REPLY;
  for (const message of messages) total += TOKENS_PER_MESSAGE + count(message.content);
  return total;
}

/** Estimated tokens of generated text (a stream cut short). */
export function estimateTextTokens(text: string): number {
  return text.length === 0 ? 0 : tokenizer()(text);
}

/** Loads the tokenizer now, so the first cut-short stream does not pay for it. */
export function warmTokenizer(): void {
  tokenizer();
}

/**
 * A tokenizer-free prompt estimate (about 4 characters a token, plus the framing): for the
 * in-flight record every call writes, where the tokenizer's cost is not worth its precision.
 */
export function roughPromptTokens(messages: readonly ChatMessage[]): number {
  let total = TOKENS_PER_REPLY;
  for (const message of messages) total += TOKENS_PER_MESSAGE + Math.ceil(message.content.length / 4);
  return total;
}
