import type { ChatRequestBody } from './chat-request';
import { asDialect, type UsageDialect } from './usage';
import { errorJson } from './wire';

/** The request header that picks a request's usage dialect, whatever else would. */
export const DIALECT_HEADER = 'x-fake-dialect';

/** Throws a TypeError for anything but `'xai'` or `'openai'`. */
export function checkDialect(dialect: unknown): asserts dialect is UsageDialect {
  if (asDialect(dialect) === undefined) {
    throw new TypeError(`dialect must be 'xai' or 'openai', got ${JSON.stringify(dialect)}`);
  }
}

/** The dialect of one request, or the error it is answered with instead. */
export type DialectChoice = { dialect: UsageDialect } | { status: 400 | 500; json: string };

/**
 * The usage dialect of one request, first that applies: its `x-fake-dialect` header (`xai` or
 * `openai`, any case, trimmed; anything else, a repeated header included, is a 400), then
 * `dialectOf(body)` (a throw or a value that is not a dialect is a 500 `server_error` saying so;
 * `undefined` defers), then the server's current dialect.
 */
export function chooseDialect(
  header: string | string[] | undefined,
  body: ChatRequestBody,
  dialectOf: ((body: ChatRequestBody) => UsageDialect | undefined) | undefined,
  current: UsageDialect,
): DialectChoice {
  if (header !== undefined) {
    const named = typeof header === 'string' ? asDialect(header.trim().toLowerCase()) : undefined;
    if (named !== undefined) return { dialect: named };
    return {
      status: 400,
      json: errorJson(
        `Invalid '${DIALECT_HEADER}' header: expected 'xai' or 'openai', got ${JSON.stringify(header)}.`,
        'invalid_request_error',
      ),
    };
  }
  if (dialectOf === undefined) return { dialect: current };
  let chosen: unknown;
  try {
    chosen = dialectOf(body);
  } catch (err) {
    return {
      status: 500,
      json: errorJson(`fake-openai: dialectOf threw: ${(err as Error)?.message ?? String(err)}`, 'server_error'),
    };
  }
  if (chosen === undefined) return { dialect: current };
  const named = asDialect(chosen);
  if (named !== undefined) return { dialect: named };
  return {
    status: 500,
    json: errorJson(`fake-openai: dialectOf returned ${JSON.stringify(chosen)}, not 'xai' or 'openai'`, 'server_error'),
  };
}
