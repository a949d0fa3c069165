/**
 * The Chat Completions parameters beyond a plain text answer that change what the fake replies:
 * `tools` / `tool_choice` / `parallel_tool_calls`, `n`, `logprobs` / `top_logprobs` and
 * `response_format`. Every other parameter is only recorded (see `FakeOpenAI.requests`).
 */

/** One `{ type: 'function', function: { name, description?, parameters? } }` entry of `tools`. */
export interface FunctionTool {
  name: string;
  /** The JSON schema of the arguments; undefined when the tool takes none. */
  parameters: unknown;
}

/** How the reply's content is shaped (`response_format`). */
export type ReplyFormat = { kind: 'text' } | { kind: 'json_object' } | { kind: 'json_schema'; schema: unknown };

/** The parsed, checked parameters of a request that needs more than the plain text answer. */
export interface Features {
  /** Choices to answer, >= 1. */
  n: number;
  /** The tools this answer calls, in call order; empty for a text answer. */
  calls: FunctionTool[];
  format: ReplyFormat;
  logprobs: boolean;
  /** `top_logprobs` alternatives per token, 0 to 20; 0 without `logprobs`. */
  topLogprobs: number;
}

/**
 * A parameter OpenAI would refuse: answered as a 400 `invalid_request_error` naming `param` (null
 * when the body as a whole is refused).
 */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly param: string | null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

const MAX_N = 128;
const MAX_TOP_LOGPROBS = 20;
const SCHEMA_NAME = /^[A-Za-z0-9_-]{1,64}$/;

interface FeatureParams {
  n?: unknown;
  tools?: unknown;
  tool_choice?: unknown;
  parallel_tool_calls?: unknown;
  logprobs?: unknown;
  top_logprobs?: unknown;
  response_format?: unknown;
  messages?: unknown;
}

/**
 * Whether `body` may need more than the plain text answer: a cheap test of the parameters' presence
 * that keeps {@link parseFeatures} off the plain path. A `null` parameter counts as absent.
 */
export function mayHaveFeatures(body: FeatureParams): boolean {
  return (
    body.tools != null ||
    body.tool_choice != null ||
    body.n != null ||
    body.logprobs != null ||
    body.top_logprobs != null ||
    body.response_format != null
  );
}

/**
 * Parses and checks the feature parameters of `body`; undefined when they ask for nothing beyond the
 * plain answer (`n: 1`, `logprobs: false`, `response_format: { type: 'text' }`, no tools to call).
 * Throws {@link RequestError} for what OpenAI refuses:
 *
 * - `n` not an integer, below 1 or above 128;
 * - `top_logprobs` not an integer from 0 to 20 (it is ignored without `logprobs: true`);
 * - `tools` not an array, or an entry that is not `{ type: 'function', function: { name } }`
 *   (an empty array counts as no tools);
 * - `tool_choice` other than `none` / `auto` / `required` / `{ type: 'function', function: { name } }`,
 *   given without tools, or naming a function not in `tools`;
 * - `response_format` not `{ type: 'text' | 'json_object' }` or `{ type: 'json_schema',
 *   json_schema: { name, schema?, strict? } }` (`name` 1 to 64 of `A-Za-z0-9_-`, `schema` an
 *   object, `strict` a boolean).
 *
 * Tools are called when there are tools, `tool_choice` is not `none` and the last message is not a
 * `role: 'tool'` result: the named function, else the first tool, or every tool for `required` with
 * more than one tool and `parallel_tool_calls` not false.
 */
export function parseFeatures(body: FeatureParams): Features | undefined {
  const n = parseN(body.n);
  const logprobs = body.logprobs === true;
  if (body.logprobs != null && typeof body.logprobs !== 'boolean') {
    throw new RequestError(
      `Invalid type for 'logprobs': expected a boolean, but got ${kind(body.logprobs)} instead.`,
      'logprobs',
      'invalid_type',
    );
  }
  const topLogprobs = parseTopLogprobs(body.top_logprobs);
  const calls = toolCalls(body);
  const format = parseFormat(body.response_format);
  if (n === 1 && !logprobs && calls.length === 0 && format.kind === 'text') return undefined;
  return { n, calls, format, logprobs, topLogprobs: logprobs ? topLogprobs : 0 };
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal number';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function parseN(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new RequestError(
      `Invalid type for 'n': expected an integer, but got ${kind(value)} instead.`,
      'n',
      'invalid_type',
    );
  }
  if (value < 1) {
    throw new RequestError(
      `Invalid 'n': integer below minimum value. Expected a value >= 1, but got ${value} instead.`,
      'n',
      'integer_below_min_value',
    );
  }
  if (value > MAX_N) {
    throw new RequestError(
      `Invalid 'n': integer above maximum value. Expected a value <= ${MAX_N}, but got ${value} instead.`,
      'n',
      'integer_above_max_value',
    );
  }
  return value;
}

function parseTopLogprobs(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TOP_LOGPROBS) {
    throw new RequestError(
      `Invalid 'top_logprobs': expected an integer from 0 to ${MAX_TOP_LOGPROBS}, but got ${JSON.stringify(value)} instead.`,
      'top_logprobs',
      'invalid_value',
    );
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parseTools(value: unknown): FunctionTool[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new RequestError(
      `Invalid type for 'tools': expected an array, but got ${kind(value)} instead.`,
      'tools',
      'invalid_type',
    );
  }
  return value.map((tool, i) => {
    if (!isObject(tool) || tool.type !== 'function') {
      throw new RequestError(
        `Invalid value for 'tools[${i}].type': expected 'function'.`,
        `tools[${i}].type`,
        'invalid_value',
      );
    }
    const fn = tool.function;
    if (!isObject(fn) || typeof fn.name !== 'string' || fn.name.length === 0) {
      throw new RequestError(
        `Missing required parameter: 'tools[${i}].function.name'.`,
        `tools[${i}].function.name`,
        'missing_required_parameter',
      );
    }
    return { name: fn.name, parameters: fn.parameters };
  });
}

function toolCalls(body: FeatureParams): FunctionTool[] {
  const tools = parseTools(body.tools);
  const choice = body.tool_choice;
  if (choice === undefined || choice === null) {
    return tools.length > 0 && !afterToolResult(body.messages) ? [tools[0] as FunctionTool] : [];
  }
  let named: string | undefined;
  if (isObject(choice)) {
    const fn = choice.function;
    if (choice.type !== 'function' || !isObject(fn) || typeof fn.name !== 'string') {
      throw new RequestError(
        "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or { type: 'function', function: { name } }.",
        'tool_choice',
        'invalid_value',
      );
    }
    named = fn.name;
  } else if (choice !== 'none' && choice !== 'auto' && choice !== 'required') {
    throw new RequestError(
      `Invalid value for 'tool_choice': ${JSON.stringify(choice)}. Supported values are: 'none', 'auto' and 'required'.`,
      'tool_choice',
      'invalid_value',
    );
  }
  if (tools.length === 0) {
    throw new RequestError(
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      'tool_choice',
    );
  }
  let picked: FunctionTool[];
  if (named !== undefined) {
    const tool = tools.find((t) => t.name === named);
    if (tool === undefined) {
      throw new RequestError(
        `Invalid value for 'tool_choice': function '${named}' is not one of the functions in 'tools'.`,
        'tool_choice',
        'invalid_value',
      );
    }
    picked = [tool];
  } else if (choice === 'none') {
    picked = [];
  } else if (choice === 'required' && body.parallel_tool_calls !== false) {
    picked = tools;
  } else {
    picked = [tools[0] as FunctionTool];
  }
  return afterToolResult(body.messages) ? [] : picked;
}

function afterToolResult(messages: unknown): boolean {
  if (!Array.isArray(messages)) return false;
  const last = messages[messages.length - 1] as { role?: unknown } | null | undefined;
  return last?.role === 'tool';
}

function parseFormat(value: unknown): ReplyFormat {
  if (value === undefined || value === null) return { kind: 'text' };
  if (!isObject(value)) {
    throw new RequestError(
      `Invalid type for 'response_format': expected an object, but got ${kind(value)} instead.`,
      'response_format',
      'invalid_type',
    );
  }
  switch (value.type) {
    case 'text':
      return { kind: 'text' };
    case 'json_object':
      return { kind: 'json_object' };
    case 'json_schema':
      return { kind: 'json_schema', schema: parseJsonSchema(value.json_schema) };
    default:
      throw new RequestError(
        `Invalid value for 'response_format.type': ${JSON.stringify(value.type)}. Supported values are: 'text', 'json_object' and 'json_schema'.`,
        'response_format.type',
        'invalid_value',
      );
  }
}

function parseJsonSchema(spec: unknown): unknown {
  if (!isObject(spec)) {
    throw new RequestError(
      "Missing required parameter: 'response_format.json_schema'.",
      'response_format.json_schema',
      'missing_required_parameter',
    );
  }
  if (typeof spec.name !== 'string' || !SCHEMA_NAME.test(spec.name)) {
    throw new RequestError(
      spec.name === undefined
        ? "Missing required parameter: 'response_format.json_schema.name'."
        : `Invalid 'response_format.json_schema.name': ${JSON.stringify(spec.name)}. Expected 1 to 64 of a-z, A-Z, 0-9, '_' and '-'.`,
      'response_format.json_schema.name',
      spec.name === undefined ? 'missing_required_parameter' : 'invalid_value',
    );
  }
  if (spec.schema !== undefined && !isObject(spec.schema)) {
    throw new RequestError(
      `Invalid type for 'response_format.json_schema.schema': expected an object, but got ${kind(spec.schema)} instead.`,
      'response_format.json_schema.schema',
      'invalid_type',
    );
  }
  if (spec.strict !== undefined && spec.strict !== null && typeof spec.strict !== 'boolean') {
    throw new RequestError(
      `Invalid type for 'response_format.json_schema.strict': expected a boolean, but got ${kind(spec.strict)} instead.`,
      'response_format.json_schema.strict',
      'invalid_type',
    );
  }
  return spec.schema ?? { type: 'object' };
}
