import { HttpError } from '@flashcase/telemetry';
import { z } from 'zod';
import type { ChatMessage, Operation, UpstreamRequest } from './types';

const MAX_TEXT = 200_000;

const common = {
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().positive().optional(),
  stream: z.boolean().optional(),
};

const message = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(MAX_TEXT),
});

const chatBody = z.object({ messages: z.array(message).min(1).max(200), ...common });
const rewriteBody = z.object({
  text: z.string().min(1).max(MAX_TEXT),
  instruction: z.string().max(2000).optional(),
  ...common,
});
const autocompleteBody = z.object({ text: z.string().min(1).max(MAX_TEXT), ...common });

// OpenAI Chat Completions: content may be a string or text parts; `developer` is the new `system`.
const openAIPart = z.object({ type: z.literal('text'), text: z.string().max(MAX_TEXT) });
const openAIMessage = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string().max(MAX_TEXT), z.array(openAIPart).max(100)]),
  name: z.string().max(64).optional(),
});
const completionsBody = z.object({
  model: z.string().max(128).optional(),
  messages: z.array(openAIMessage).min(1).max(200),
  temperature: z.number().min(0).max(2).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  n: z.literal(1).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  seed: z.number().int().nullish(),
  user: z.string().max(256).nullish(),
  response_format: z.object({ type: z.enum(['text', 'json_object']) }).nullish(),
});

const PASS_THROUGH = ['top_p', 'stop', 'presence_penalty', 'frequency_penalty', 'seed', 'response_format'] as const;

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_request', 'Request body must be a JSON object');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : 'body';
  throw new HttpError(400, 'invalid_request', `Invalid field ${field}: ${issue?.message ?? 'invalid'}`, {
    details: { field },
  });
}

const REWRITE_SYSTEM =
  'You rewrite flashcard text for studying. Keep every fact and the original language; make it clear, ' +
  'concise and easy to memorise. Reply with the rewritten text only.';
const AUTOCOMPLETE_SYSTEM =
  'You complete flashcard text. Continue the given text naturally and accurately, in the same language ' +
  'and style. Reply with the continuation only, without repeating the given text.';

export interface RequestDefaults {
  model: string;
  temperature: number;
  maxTokens: Readonly<Record<Operation, number>>;
  /** Models a `chat/completions` client may ask for (priced ones); others fall back to `model`. */
  allowedModels: ReadonlySet<string>;
}

/** `max_tokens` clamped to the operation's cap; absent means the cap. Never passed through larger. */
function clamp(requested: number | null | undefined, cap: number): number {
  return requested === undefined || requested === null ? cap : Math.min(requested, cap);
}

/** A FlashCase operation body (`chat`, `rewrite`, `autocomplete`) into the upstream request. */
export function buildOperationRequest(operation: Operation, body: unknown, defaults: RequestDefaults): UpstreamRequest {
  let messages: ChatMessage[];
  let options: { temperature?: number | undefined; max_tokens?: number | undefined; stream?: boolean | undefined };
  switch (operation) {
    case 'chat': {
      const parsed = parse(chatBody, body);
      messages = parsed.messages;
      options = parsed;
      break;
    }
    case 'rewrite': {
      const parsed = parse(rewriteBody, body);
      const instruction = parsed.instruction?.trim() || 'Improve clarity and concision.';
      messages = [
        { role: 'system', content: REWRITE_SYSTEM },
        { role: 'user', content: `Instruction: ${instruction}\n\nText:\n${parsed.text}` },
      ];
      options = parsed;
      break;
    }
    case 'autocomplete': {
      const parsed = parse(autocompleteBody, body);
      messages = [
        { role: 'system', content: AUTOCOMPLETE_SYSTEM },
        { role: 'user', content: parsed.text },
      ];
      options = parsed;
      break;
    }
  }
  return {
    operation,
    model: defaults.model,
    messages,
    temperature: options.temperature ?? defaults.temperature,
    maxTokens: clamp(options.max_tokens, defaults.maxTokens[operation]),
    stream: options.stream ?? false,
  };
}

export interface CompletionsRequest extends UpstreamRequest {
  /** The client asked for the final usage chunk (`stream_options.include_usage`). */
  clientWantsUsage: boolean;
}

/** An OpenAI Chat Completions body into the upstream request, counted as operation `chat`. */
export function buildCompletionsRequest(body: unknown, defaults: RequestDefaults): CompletionsRequest {
  const parsed = parse(completionsBody, body);
  const messages: ChatMessage[] = parsed.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((part) => part.text).join(''),
  }));
  const extra: Record<string, unknown> = {};
  for (const key of PASS_THROUGH) {
    const value = parsed[key];
    if (value !== undefined && value !== null) extra[key] = value;
  }
  const model = parsed.model && defaults.allowedModels.has(parsed.model) ? parsed.model : defaults.model;
  return {
    operation: 'chat',
    model,
    messages,
    temperature: parsed.temperature ?? defaults.temperature,
    maxTokens: clamp(parsed.max_completion_tokens ?? parsed.max_tokens, defaults.maxTokens.chat),
    stream: parsed.stream ?? false,
    extra,
    clientWantsUsage: parsed.stream_options?.include_usage ?? false,
  };
}
