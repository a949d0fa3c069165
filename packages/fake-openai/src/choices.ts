import {
  type ChatMessageLike,
  countPromptTokens,
  digest,
  echoedText,
  type FakeCompletionOptions,
  fakeCompletion,
} from './completion';
import type { Features, FunctionTool } from './features';
import { fakeSchemaValue, type SchemaSeed } from './schema-value';

/** One function call of an answer, as `message.tool_calls[k]` carries it. */
export interface FakeToolCall {
  /** `call_` and 16 hex digits, the same for the same request. */
  id: string;
  name: string;
  /** The arguments as a JSON string; a prefix of it when `max_tokens` cut the call. */
  arguments: string;
  /** Completion tokens billed for it (see {@link toolCallTokens}). */
  tokens: number;
}

/** One choice of an answer. */
export interface FakeChoice {
  index: number;
  /** The content pieces: one completion token and one stream chunk each; empty for a tool call. */
  pieces: string[];
  /** `pieces.join('')`, or null for a tool call. */
  content: string | null;
  /** Empty for a text answer. */
  toolCalls: FakeToolCall[];
  /** The `reasoning_content` pieces when the model exposes its thinking (see the server); else undefined. */
  reasoning: string[] | undefined;
  /** Visible completion tokens: pieces, or the tool calls' tokens. */
  completionTokens: number;
  finishReason: 'stop' | 'length' | 'tool_calls';
}

/** Every choice of an answer and its totals. */
export interface FakeAnswer {
  choices: FakeChoice[];
  promptTokens: number;
  /** Summed over choices. */
  completionTokens: number;
  /** Summed over choices: each choice reasons for itself. */
  reasoningTokens: number;
}

/** Completion tokens of a tool call on top of its arguments: its id, name and framing. */
export const TOOL_CALL_TOKENS = 3;
const CHARS_PER_TOKEN = 4;
const ECHO_SCAN_CHARS = 256;

/**
 * The completion tokens the fake bills for one tool call whose arguments JSON is `args`:
 * `3 + ceil(args.length / 4)` (UTF-16 code units). An OpenAI-dialect stream sends those arguments as
 * `ceil(args.length / 4)` fragments of 4 characters (the last one shorter).
 */
export function toolCallTokens(args: string): number {
  return TOOL_CALL_TOKENS + Math.ceil(args.length / CHARS_PER_TOKEN);
}

/** The seed of the schema-driven values for `messages`: digest and first word of the echoed text. */
export function schemaSeed(messages: readonly ChatMessageLike[]): SchemaSeed {
  const text = echoedText(messages);
  const head = text.length > ECHO_SCAN_CHARS ? text.slice(0, ECHO_SCAN_CHARS) : text;
  const textDigest = digest(text);
  const word = head.split(/\s+/).find((w) => w.length > 0);
  return { digest: textDigest, word: word ?? textDigest };
}

/**
 * The `arguments` string of the fake's call of a tool with JSON schema `parameters` for `messages`:
 * `JSON.stringify(fakeSchemaValue(parameters, schemaSeed(messages)))`, or `'{}'` when the tool has
 * no `parameters`. Tests use it to predict the call.
 */
export function fakeToolArguments(parameters: unknown, messages: readonly ChatMessageLike[]): string {
  if (parameters === undefined || parameters === null) return '{}';
  return JSON.stringify(fakeSchemaValue(parameters, schemaSeed(messages))) ?? 'null';
}

/**
 * Whether `model` shows its thinking as `reasoning_content` in Chat Completions: the `grok-3-mini`
 * family and `grok-code-fast*`. NOTE: xAI's reasoning guide (docs.x.ai/docs/guides/reasoning) says
 * only grok-3-mini returns it and that grok-3, grok-4 and grok-4-fast-reasoning do not; recorded
 * api.x.ai streams show grok-code-fast-1 streaming `reasoning_content` deltas too.
 */
export function exposesReasoningContent(model: string): boolean {
  return model.startsWith('grok-3-mini') || model.startsWith('grok-code-fast');
}

/** The `reasoning_content` pieces for a reply echoing `seed`: `Thinking about <digest> before answering.` */
export function reasoningPieces(seed: SchemaSeed): string[] {
  return ['Thinking', ' about', ` ${seed.digest}`, ' before', ' answering.'];
}

/** Options of {@link fakeAnswer}, as the server passes them. */
export interface FakeAnswerOptions extends Omit<FakeCompletionOptions, 'choice'> {
  /** Add `reasoning_content` pieces to every choice. */
  exposeReasoning?: boolean;
}

/**
 * The deterministic answer to a request with `features`: `features.n` choices, index 0 to n-1.
 *
 * - Tool calls (`features.calls` non-empty): every choice calls those tools, `content: null`,
 *   `finish_reason: 'tool_calls'`; call k of choice i has the id `call_<digest(i:k:name:seed)><digest(name:i:k)>`
 *   and {@link fakeToolArguments}. Its tokens are {@link toolCallTokens}. When the calls' tokens
 *   exceed `maxTokens`, the calls are cut to it, in order (a call's 3 framing tokens first, then its
 *   arguments 4 characters a token; calls with nothing left are dropped) with `finish_reason: 'length'`.
 * - Text: choice i is `fakeCompletion(messages, { ..., choice: i })`. With a `json_schema` format the
 *   content is `JSON.stringify` of {@link fakeSchemaValue} of the schema, with `json_object` it is
 *   `{"reply":"<the text reply>"}`; either is split into pieces of 4 characters (one token each)
 *   and then cut to `maxTokens`.
 *
 * Prompt tokens are counted once; completion and reasoning tokens are summed over the choices.
 */
export function fakeAnswer(
  messages: readonly ChatMessageLike[],
  features: Features,
  { maxTokens, replyTokens, reasoning = false, exposeReasoning = false }: FakeAnswerOptions = {},
): FakeAnswer {
  const seed = schemaSeed(messages);
  const thinking = exposeReasoning ? reasoningPieces(seed) : undefined;
  const choices: FakeChoice[] = [];
  let completionTokens = 0;
  let reasoningTokens = 0;
  const args = features.calls.map((tool) => fakeToolArguments(tool.parameters, messages));
  for (let i = 0; i < features.n; i++) {
    const text = fakeCompletion(messages, { maxTokens, replyTokens, reasoning, choice: i });
    reasoningTokens += text.reasoningTokens;
    let choice: FakeChoice;
    if (features.calls.length > 0) {
      choice = toolChoice(i, features.calls, args, seed, maxTokens);
    } else if (features.format.kind === 'text') {
      choice = {
        index: i,
        pieces: text.pieces,
        content: text.content,
        toolCalls: [],
        reasoning: undefined,
        completionTokens: text.completionTokens,
        finishReason: text.finishReason,
      };
    } else {
      const json =
        features.format.kind === 'json_schema'
          ? (JSON.stringify(fakeSchemaValue(features.format.schema, seed)) ?? 'null')
          : JSON.stringify({ reply: fakeCompletion(messages, { choice: i }).content });
      choice = jsonChoice(i, json, maxTokens);
    }
    choice.reasoning = thinking;
    completionTokens += choice.completionTokens;
    choices.push(choice);
  }
  return { choices, promptTokens: countPromptTokens(messages), completionTokens, reasoningTokens };
}

function jsonChoice(index: number, json: string, maxTokens: number | undefined): FakeChoice {
  let pieces: string[] = [];
  for (let at = 0; at < json.length; at += CHARS_PER_TOKEN) pieces.push(json.slice(at, at + CHARS_PER_TOKEN));
  let finishReason: FakeChoice['finishReason'] = 'stop';
  if (maxTokens !== undefined && pieces.length > maxTokens) {
    pieces = pieces.slice(0, maxTokens);
    finishReason = 'length';
  }
  const content = pieces.join('');
  return { index, pieces, content, toolCalls: [], reasoning: undefined, completionTokens: pieces.length, finishReason };
}

function toolChoice(
  index: number,
  tools: readonly FunctionTool[],
  args: readonly string[],
  seed: SchemaSeed,
  maxTokens: number | undefined,
): FakeChoice {
  const calls: FakeToolCall[] = [];
  let left = maxTokens ?? Number.POSITIVE_INFINITY;
  let cut = false;
  for (let k = 0; k < tools.length; k++) {
    const name = (tools[k] as FunctionTool).name;
    const full = args[k] as string;
    if (left <= 0) {
      cut = true;
      break;
    }
    const id = `call_${digest(`${index}:${k}:${name}:${seed.digest}`)}${digest(`${name}:${index}:${k}`)}`;
    const tokens = toolCallTokens(full);
    if (tokens <= left) {
      calls.push({ id, name, arguments: full, tokens });
      left -= tokens;
      continue;
    }
    const argTokens = Math.max(0, left - TOOL_CALL_TOKENS);
    calls.push({ id, name, arguments: full.slice(0, argTokens * CHARS_PER_TOKEN), tokens: left });
    left = 0;
    cut = true;
    break;
  }
  let completionTokens = 0;
  for (const call of calls) completionTokens += call.tokens;
  return {
    index,
    pieces: [],
    content: null,
    toolCalls: calls,
    reasoning: undefined,
    completionTokens,
    finishReason: cut ? 'length' : 'tool_calls',
  };
}

/** The 4-character fragments an OpenAI-dialect stream sends a call's `arguments` in. */
export function argumentFragments(args: string): string[] {
  const fragments: string[] = [];
  for (let at = 0; at < args.length; at += CHARS_PER_TOKEN) fragments.push(args.slice(at, at + CHARS_PER_TOKEN));
  return fragments;
}

/** One token's entry of `logprobs.content` (and of its `top_logprobs`). */
export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

/**
 * The logprob entry of content piece `position` (0-based) of choice `choice`: the chosen token's
 * `logprob` is `-(parseInt(digest(choice:position:token), 16) % 10000) / 10000`, in (-1, 0]; its
 * `top_logprobs` has `top` entries, the first the chosen token itself, then `<token>~1`, `<token>~2`…
 * at `logprob - 1.25 j` (rounded to 4 decimals). `bytes` are the token's UTF-8 bytes.
 */
export function fakeLogprob(
  token: string,
  choice: number,
  position: number,
  top: number,
): TokenLogprob & { top_logprobs: TokenLogprob[] } {
  // `|| 0` turns -0 into 0, which JSON would send as 0 anyway.
  const logprob = -(Number.parseInt(digest(`${choice}:${position}:${token}`), 16) % 10_000) / 10_000 || 0;
  const topLogprobs: TokenLogprob[] = [];
  for (let j = 0; j < top; j++) {
    const alt = j === 0 ? token : `${token}~${j}`;
    topLogprobs.push({ token: alt, logprob: Math.round((logprob - 1.25 * j) * 10_000) / 10_000, bytes: bytesOf(alt) });
  }
  return { token, logprob, bytes: bytesOf(token), top_logprobs: topLogprobs };
}

function bytesOf(text: string): number[] {
  return Array.from(Buffer.from(text, 'utf8'));
}
