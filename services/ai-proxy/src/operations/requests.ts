import { HttpError } from '@flashcase/telemetry';
import { z } from 'zod';
import type { ChatMessage, Operation, UpstreamRequest } from './upstream-request';

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

// OpenAI Chat Completions. The fields the proxy controls are validated here (model, messages,
// temperature, the caps, stream, stream_options, n); the parameters it records on the GenAI span are
// type-checked; every other field is passed through unchanged (z.looseObject keeps unknown keys).
const MAX_IMAGE_URL = 1_048_576; // a data URL: the body's own 1 MiB bound is the real limit
const MAX_PARTS = 100;
const name = z.string().max(64).optional();
const textPart = z.looseObject({ type: z.literal('text'), text: z.string().max(MAX_TEXT) });
const imagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({
    url: z.string().min(1).max(MAX_IMAGE_URL),
    detail: z.enum(['auto', 'low', 'high']).optional(),
  }),
});
const refusalPart = z.looseObject({ type: z.literal('refusal'), refusal: z.string().max(MAX_TEXT) });
const textContent = z.union([z.string().max(MAX_TEXT), z.array(textPart).max(MAX_PARTS)]);
const toolCall = z.looseObject({
  id: z.string().min(1).max(256),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string().min(1).max(256), arguments: z.string().max(MAX_TEXT) }),
});
const openAIMessage = z.discriminatedUnion('role', [
  z.looseObject({ role: z.enum(['system', 'developer']), content: textContent, name }),
  z.looseObject({
    role: z.literal('user'),
    content: z.union([
      z.string().max(MAX_TEXT),
      z.array(z.discriminatedUnion('type', [textPart, imagePart])).max(MAX_PARTS),
    ]),
    name,
  }),
  z.looseObject({
    role: z.literal('assistant'),
    content: z
      .union([z.string().max(MAX_TEXT), z.array(z.discriminatedUnion('type', [textPart, refusalPart])).max(MAX_PARTS)])
      .nullish(),
    refusal: z.string().max(MAX_TEXT).nullish(),
    tool_calls: z.array(toolCall).max(128).optional(),
    name,
  }),
  z.looseObject({ role: z.literal('tool'), content: textContent, tool_call_id: z.string().min(1).max(256) }),
]);
const tool = z.looseObject({
  type: z.string().min(1).max(64),
  function: z
    .looseObject({
      name: z.string().min(1).max(256),
      description: z.string().max(MAX_TEXT).optional(),
      parameters: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});
const responseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.enum(['text', 'json_object']) }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: z.string().min(1).max(64),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
const completionsBody = z.looseObject({
  model: z.string().max(128).optional(),
  messages: z.array(openAIMessage).min(1).max(500),
  temperature: z.number().min(0).max(2).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  n: z.number().int().positive().nullish(),
  tools: z.array(tool).max(128).nullish(),
  tool_choice: z
    .union([
      z.enum(['none', 'auto', 'required']),
      z.looseObject({ type: z.string().max(64), function: z.looseObject({ name: z.string().max(256) }).optional() }),
    ])
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormat.nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: z.union([z.string().max(MAX_TEXT), z.array(z.string().max(MAX_TEXT)).max(4)]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  seed: z.number().int().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  user: z.string().max(256).nullish(),
});

/** Fields the proxy sets itself; every other field of the body goes upstream as the client sent it. */
const CONTROLLED = new Set(['model', 'messages', 'temperature', 'max_tokens', 'max_completion_tokens', 'stream']);

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
  /** `AI_MAX_N`: the largest `n` a `chat/completions` body may ask. */
  maxN: number;
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
    choices: 1,
    stream: options.stream ?? false,
  };
}

export interface CompletionsRequest extends UpstreamRequest {
  /** The client asked for the final usage chunk (`stream_options.include_usage`). */
  clientWantsUsage: boolean;
}

function invalid(field: string, message: string): HttpError {
  return new HttpError(400, 'invalid_request', `Invalid field ${field}: ${message}`, { details: { field } });
}

/** An OpenAI Chat Completions body into the upstream request, counted as operation `chat`. */
export function buildCompletionsRequest(body: unknown, defaults: RequestDefaults): CompletionsRequest {
  const parsed = parse(completionsBody, body);
  const choices = parsed.n ?? 1;
  if (choices > defaults.maxN) throw invalid('n', `at most ${defaults.maxN} choices (AI_MAX_N)`);
  const stream = parsed.stream ?? false;
  if (!stream && parsed.stream_options != null) throw invalid('stream_options', 'only allowed when stream is true');
  const extra: Record<string, unknown> = {};
  for (const key of Object.keys(parsed)) if (!CONTROLLED.has(key)) extra[key] = parsed[key];
  const model = parsed.model && defaults.allowedModels.has(parsed.model) ? parsed.model : defaults.model;
  const capped = parsed.max_completion_tokens ?? parsed.max_tokens;
  return {
    operation: 'chat',
    model,
    messages: parsed.messages,
    temperature: parsed.temperature ?? defaults.temperature,
    maxTokens: clamp(capped, defaults.maxTokens.chat),
    maxTokensField: parsed.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens',
    choices,
    stream,
    extra,
    clientWantsUsage: parsed.stream_options?.include_usage ?? false,
  };
}
