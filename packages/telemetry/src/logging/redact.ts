/**
 * Redaction of secrets and personal data before anything reaches a log sink.
 *
 * Keys are matched after lower-casing and dropping `-` and `_`, so `API_KEY`, `api-key` and `apiKey`
 * are one key. Counting fields such as `tokens_used` or `max_tokens` are not secrets: only keys that
 * *end* in `token` (singular) are, never those ending in `tokens`.
 */

export const REDACTED = '[REDACTED]';

const SECRET_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'password',
  'passwd',
  'pwd',
  'apikey',
  'xapikey',
  'privatekey',
  'jwt',
  'smtpurl',
  'slackwebhookurl',
  'alertwebhookurl',
]);

const AI_CONTENT_KEYS = new Set(['prompt', 'completion', 'messages', 'aicontent']);

const MAX_DEPTH = 8;

// A run of 13-19 digits, optionally grouped by single spaces or dashes, starting 2-6 as card
// networks' numbers do (Mastercard 2/5, Amex 3, Visa 4, Discover 6): epoch-millisecond timestamps
// (which start with 1) and most ids are left alone.
const CARD_CANDIDATE = /\b[2-6](?:[ -]?\d){12,18}\b/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
// Three base64url segments, the first two starting with `eyJ` (a JSON object): a JWT.
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
// user:password@ in URLs (redis://, smtp://, https://).
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]*:[^/\s@]*@/gi;
// Fast pre-check: most log strings contain none of the shapes above.
const MAYBE_SENSITIVE = /\d{4}|Bearer|Basic|eyJ|:\/\//i;

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** True when a field with this name holds a secret and must never be logged. */
export function isSecretKey(key: string): boolean {
  const k = normaliseKey(key);
  if (SECRET_KEYS.has(k)) return true;
  if (k.endsWith('token')) return true; // token, accesstoken, xinternaltoken; not tokensused
  if (k.includes('secret')) return true; // secret, clientsecret, jwtsecret
  if (k.includes('password')) return true;
  return false;
}

function isAIContentKey(key: string): boolean {
  return AI_CONTENT_KEYS.has(normaliseKey(key));
}

const PLAIN = 0;
const SECRET = 1;
const AI_CONTENT = 2;
type KeyKind = typeof PLAIN | typeof SECRET | typeof AI_CONTENT;

// Field names repeat on every record (`status_code`, `user_id`...): classify each once. Bounded, as
// nested keys may come from data; past the bound a key is classified on every call, as before.
const keyKinds = new Map<string, KeyKind>();
const MAX_CACHED_KEYS = 4096;

function kindOf(key: string): KeyKind {
  let kind = keyKinds.get(key);
  if (kind === undefined) {
    kind = isSecretKey(key) ? SECRET : isAIContentKey(key) ? AI_CONTENT : PLAIN;
    if (keyKinds.size < MAX_CACHED_KEYS) keyKinds.set(key, kind);
  }
  return kind;
}

function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Masks secrets that appear inside free text: bearer/basic credentials, JWTs, credentials embedded
 * in URLs, and card numbers (13-19 digits that pass the Luhn check, so ids and timestamps survive).
 */
export function redactString(value: string): string {
  if (!MAYBE_SENSITIVE.test(value)) return value;
  return value
    .replace(BEARER, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(URL_CREDENTIALS, (_m, scheme: string) => `${scheme}${REDACTED}@`)
    .replace(CARD_CANDIDATE, (match) => {
      const digits = match.replace(/[ -]/g, '');
      return digits.length >= 13 && digits.length <= 19 && passesLuhn(digits) ? '[REDACTED_CARD]' : match;
    });
}

export interface RedactOptions {
  /** Keep prompt and completion text (`LOG_AI_CONTENT=true`); off by default. */
  keepAIContent?: boolean;
}

/**
 * Returns a redacted copy of `value`: secret keys replaced at any depth, secrets inside strings
 * masked, errors turned into plain `{name, message, stack, code}` objects, cycles cut, depth capped
 * at 8. The input is never mutated.
 */
export function redact(value: unknown, options: RedactOptions = {}): unknown {
  return redactValue(value, options, 0, new WeakSet());
}

function redactValue(value: unknown, options: RedactOptions, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? value.toString() : value;
  }
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  try {
    if (value instanceof Error) {
      const out: Record<string, unknown> = {
        name: value.name,
        message: redactString(value.message),
      };
      if (value.stack) out.stack = redactString(value.stack);
      const code = (value as { code?: unknown }).code;
      if (code !== undefined) out.code = code;
      if (value.cause !== undefined) out.cause = redactValue(value.cause, options, depth + 1, seen);
      return out;
    }
    if (Array.isArray(value)) return value.map((item) => redactValue(item, options, depth + 1, seen));
    if (value instanceof Date) return value.toISOString();
    if (Buffer.isBuffer(value)) return `[Buffer ${value.length} bytes]`;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = redactField(key, inner, options, depth, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** Redacts one named field; exported for the log format, which walks the top level itself. */
export function redactField(
  key: string,
  value: unknown,
  options: RedactOptions,
  depth = 0,
  seen?: WeakSet<object>,
): unknown {
  if (value === undefined || value === null) return value;
  const kind = kindOf(key);
  if (kind === SECRET) return REDACTED;
  if (kind === AI_CONTENT && !options.keepAIContent) {
    return `[AI_CONTENT_REDACTED ${typeof value === 'string' ? `${value.length} chars` : typeof value}]`;
  }
  // Numbers, booleans and strings (most fields of a request or usage record) need no walk, and no
  // cycle tracking: the WeakSet is made only for an object, not for every field of every record.
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return redactString(value);
  return redactValue(value, options, depth + 1, seen ?? new WeakSet());
}
