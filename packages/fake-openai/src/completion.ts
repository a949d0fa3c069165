/** The part of a chat message the fake reads: its role and its content (string, parts or null). */
export interface ChatMessageLike {
  role?: unknown;
  content?: unknown;
}

/** What the fake replies to one request, before it is put on the wire. */
export interface FakeCompletion {
  /** The reply as emitted pieces; one piece is one completion token and one stream chunk. */
  pieces: string[];
  /** `pieces.join('')`. */
  content: string;
  promptTokens: number;
  /** Visible completion tokens: `pieces.length`. */
  completionTokens: number;
  /**
   * Hidden reasoning tokens, on top of `completionTokens` (each usage dialect reports them its own
   * way); 0 unless {@link FakeCompletionOptions.reasoning} was set. See {@link fakeReasoningTokens}.
   */
  reasoningTokens: number;
  /** `length` when the reply was cut to fit `max_tokens` / `max_completion_tokens`. */
  finishReason: 'stop' | 'length';
}

/** Options of {@link fakeCompletion}. */
export interface FakeCompletionOptions {
  /** Upper bound on completion tokens (the request's `max_tokens` / `max_completion_tokens`). */
  maxTokens?: number;
  /** Make every natural reply exactly this many pieces long by repeating the echo (before `maxTokens` cuts it). */
  replyTokens?: number;
  /**
   * Whether the model reasons (the server passes {@link isReasoningModel} of the request's model);
   * defaults to false, giving `reasoningTokens: 0`.
   */
  reasoning?: boolean;
  /**
   * The choice index (for `n` > 1); defaults to 0. Choice 0 is the reply documented on
   * {@link fakeCompletion}; choice `i` > 0 differs only in its digest piece, ` <digest(i + ':' + echoed text)>`,
   * so every choice has as many pieces as choice 0.
   */
  choice?: number;
}

/** Tokens charged per message on top of its text, as the prompt counting rule's overhead. */
export const TOKENS_PER_MESSAGE = 4;
const CHARS_PER_TOKEN = 4;
// Bounds the per-request work on long prompts: only the head of the last user message is echoed.
const ECHO_MAX_WORDS = 16;
const ECHO_SCAN_CHARS = 256;
const REASONING_BASE_TOKENS = 8;
const REASONING_SPREAD = 25;

/**
 * The text of a message's `content`: a string as is, an array of content parts as the concatenation
 * of its `text` parts (images and other parts count as nothing), anything else (null, absent) as ''.
 */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
      text += (part as { text: string }).text;
    }
  }
  return text;
}

/**
 * The fake's prompt token count: for each message, `ceil(chars / 4) + 4`, where chars is the
 * length (UTF-16 code units) of {@link messageText} of its content. An empty list counts 0.
 */
export function countPromptTokens(messages: readonly ChatMessageLike[]): number {
  let tokens = 0;
  for (const message of messages) {
    tokens += Math.ceil(messageText(message?.content).length / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE;
  }
  return tokens;
}

/** FNV-1a (32-bit) of a string as 8 hex digits: cheap, stable, and enough to tell prompts apart. */
export function digest(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/**
 * Whether the fake treats `model` as a reasoning model, the way xAI's line-up splits: every model
 * reasons unless its id contains `non-reasoning`, is exactly `grok-3`, or starts with `grok-2`. So
 * `grok-4`, `grok-4-0709`, `grok-4-fast`, `grok-4-fast-reasoning`, `grok-4-1-fast`, `grok-3-mini` and
 * `grok-code-fast-1` reason; `grok-4-fast-non-reasoning`, `grok-3` and `grok-2-1212` do not. Ids the
 * fake has never heard of (`gpt-4o`, `my-model`) count as reasoning models too.
 */
export function isReasoningModel(model: string): boolean {
  return !(model.includes('non-reasoning') || model === 'grok-3' || model.startsWith('grok-2'));
}

/**
 * The reasoning tokens the fake bills for a request to `model`: 0 for a model that does not reason
 * ({@link isReasoningModel}), else `8 + (parseInt(digest(text of the last user message), 16) % 25)`,
 * i.e. 8 to 32, the same for every request with the same last user message (digest of '' when there
 * is none). They are not bounded by `max_tokens`, and a server started with `reasoning: false` bills none.
 */
export function fakeReasoningTokens(model: string, messages: readonly ChatMessageLike[]): number {
  return isReasoningModel(model) ? reasoningTokensOf(digest(lastUserText(messages))) : 0;
}

function reasoningTokensOf(lastUserDigest: string): number {
  return REASONING_BASE_TOKENS + (Number.parseInt(lastUserDigest, 16) % REASONING_SPREAD);
}

/**
 * The text the reply echoes: the last message's when it is a `role: 'tool'` result (the second call of
 * a tool round trip, so a test sees the tool's output reached the model), else the last user message's
 * ('' when there is none).
 */
export function echoedText(messages: readonly ChatMessageLike[]): string {
  const last = messages[messages.length - 1];
  return last?.role === 'tool' ? messageText(last.content) : lastUserText(messages);
}

function lastUserText(messages: readonly ChatMessageLike[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'user') return messageText(messages[i]?.content);
  }
  return '';
}

/**
 * The deterministic reply to `messages`: the pieces `Echo:`, ` <digest of the echoed text>`,
 * then ` <word>` for each of the first 16 words of that text (taken from its first 256 chars). The
 * echoed text is the last user message, or the last message when it is a `role: 'tool'` result
 * (see {@link echoedText}); with neither, the digest is of ''. `choice` > 0 changes only the digest
 * piece (see {@link FakeCompletionOptions.choice}). `replyTokens` repeats these pieces cyclically to that
 * length; `maxTokens` then cuts the reply to at most that many pieces, with finish reason `length`
 * only when something was cut. Completion tokens are the number of pieces, so a stream's content
 * chunks always add up to `completionTokens`. With `reasoning`, `reasoningTokens` follows
 * {@link fakeReasoningTokens}; `maxTokens` does not cut it.
 */
export function fakeCompletion(
  messages: readonly ChatMessageLike[],
  { maxTokens, replyTokens, reasoning = false, choice = 0 }: FakeCompletionOptions = {},
): FakeCompletion {
  const lastUser = lastUserText(messages);
  const lastUserDigest = digest(lastUser);
  const last = messages[messages.length - 1];
  const echo = last?.role === 'tool' ? messageText(last.content) : lastUser;
  let shown = echo === lastUser ? lastUserDigest : digest(echo);
  if (choice > 0) shown = digest(`${choice}:${echo}`);
  const natural = ['Echo:', ` ${shown}`];
  const head = echo.length > ECHO_SCAN_CHARS ? echo.slice(0, ECHO_SCAN_CHARS) : echo;
  for (const word of head.split(/\s+/)) {
    if (natural.length - 2 >= ECHO_MAX_WORDS) break;
    if (word) natural.push(` ${word}`);
  }

  let pieces = natural;
  if (replyTokens !== undefined && replyTokens !== natural.length) {
    pieces = [];
    for (let i = 0; i < replyTokens; i++) {
      const piece = natural[i % natural.length] as string;
      pieces.push(i > 0 && !piece.startsWith(' ') ? ` ${piece}` : piece);
    }
  }

  let finishReason: FakeCompletion['finishReason'] = 'stop';
  if (maxTokens !== undefined && pieces.length > maxTokens) {
    pieces = pieces.slice(0, maxTokens);
    finishReason = 'length';
  }
  return {
    pieces,
    content: pieces.join(''),
    promptTokens: countPromptTokens(messages),
    completionTokens: pieces.length,
    reasoningTokens: reasoning ? reasoningTokensOf(lastUserDigest) : 0,
    finishReason,
  };
}
