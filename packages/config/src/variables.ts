import { z } from 'zod';

// Zod schemas for one environment variable each. Each schema receives the trimmed value (a blank
// value never reaches it: `variable()` turns it into "unset") and fails with a message that reads
// after the variable's name: `must be a non-negative integer, got "-5"`.

const SHOWN_VALUE_MAX = 80;

/** The offending value for a message, or a note that it is withheld because it may be a secret. */
function got(input: unknown, secret: boolean): string {
  if (secret) {
    return ' (value not shown: it may hold a secret)';
  }
  const text = String(input);
  const shown = text.length > SHOWN_VALUE_MAX ? `${text.slice(0, SHOWN_VALUE_MAX)}...` : text;
  // NOTE: JSON.stringify escapes newlines and control characters, keeping the message on one line.
  return `, got ${JSON.stringify(shown)}`;
}

interface KindOptions {
  /** Withhold the value from error messages. */
  readonly secret?: boolean;
}

/** A string accepted when `test` passes; the error says what was `expected`. */
function checked(expected: string, test: (value: string) => boolean, { secret = false }: KindOptions = {}) {
  return z.string().refine(test, { error: (issue) => `must be ${expected}${got(issue.input, secret)}` });
}

/** Blank (empty or whitespace-only) counts as unset; anything else is trimmed. */
function blankToUndefined(value: unknown): unknown {
  if (typeof value !== 'string') {
    return value;
  }
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** A variable that may be unset: the output is `undefined` then. */
export function optional<Output>(schema: z.ZodType<Output, string>) {
  return z.preprocess(blankToUndefined, schema.optional());
}

/** A variable with a default used when it is unset or blank (never when it is bad). */
export function withDefault<Output>(schema: z.ZodType<Output, string>, fallback: NoInfer<Output>) {
  return z.preprocess(blankToUndefined, schema.optional()).transform((value) => value ?? fallback);
}

const DECIMAL_INTEGER = /^\d+$/;

/**
 * A plain decimal integer within [min, max]. Rejects signs, exponents (`1e3`), fractions,
 * trailing text (`12abc`) and anything beyond `Number.MAX_SAFE_INTEGER`.
 */
export function integer(expected: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return checked(expected, (value) => {
    if (!DECIMAL_INTEGER.test(value)) {
      return false;
    }
    const parsed = Number(value);
    return Number.isSafeInteger(parsed) && parsed >= min && parsed <= max;
  }).transform(Number);
}

/** 0 or more. */
export const nonNegativeInteger = () => integer('a non-negative integer', 0);
/** 1 or more. */
export const positiveInteger = () => integer('a positive integer', 1);
/** A TCP port; 0 is allowed (an OS-chosen port for PORT, "off" for METRICS_PORT). */
export const port = () => integer('an integer port from 0 to 65535', 0, 65_535);

/**
 * The longest delay Node's timers honour (2^31 - 1 ms, about 24.8 days).
 *
 * NOTE: a longer one is not clamped to it: Node fires it after 1 ms (with a TimeoutOverflowWarning),
 * so a longer grace would turn into none at all.
 */
const MAX_TIMER_MS = 2_147_483_647;

/** A duration a timer waits on, in milliseconds: 1 up to 2147483647 (about 24.8 days). */
export const timerMs = () => integer(`a positive integer of milliseconds up to ${MAX_TIMER_MS}`, 1, MAX_TIMER_MS);

const DECIMAL_NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

/** A plain decimal number (no sign, no exponent) within [min, max]. */
export function decimal(min: number, max: number) {
  return checked(
    `a number from ${min} to ${max}`,
    (value) => DECIMAL_NUMBER.test(value) && Number(value) >= min && Number(value) <= max,
  ).transform(Number);
}

const USD = /^\d+(?:\.\d{0,10})?$/;

/**
 * An amount of US dollars as a plain decimal with at most 10 decimals, up to `max`, as integer
 * ticks (1e-10 USD), converted digit by digit so `0.01` is exactly 100 000 000 ticks.
 */
export function usdTicks(max: number) {
  return checked(
    `an amount of US dollars from 0 to ${max} (at most 10 decimals)`,
    (value) => USD.test(value) && Number(value) <= max,
  ).transform((value) => {
    const [whole = '0', fraction = ''] = value.split('.');
    return Number(whole) * 1e10 + Number(fraction.padEnd(10, '0'));
  });
}

/** An IANA time zone name the runtime knows (`UTC`, `Europe/Berlin`). */
export const timeZone = () =>
  checked('an IANA time zone such as UTC or Europe/Berlin', (value) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: value });
      return true;
    } catch {
      return false;
    }
  });

/**
 * A local hour of the day (0..23), or off: unset gives `fallback`; `off` (any case) or a value that
 * is set but blank gives null.
 *
 * NOTE: the one variable where a blank value is not "unset" (contract section 4: `USAGE_DIGEST_HOUR`
 * "empty = off"), so it reads the raw value instead of going through `withDefault`.
 */
export function hourOrOff(fallback: number) {
  return z
    .string()
    .optional()
    .transform((value, context): number | null => {
      if (value === undefined) return fallback;
      const trimmed = value.trim();
      if (trimmed === '' || trimmed.toLowerCase() === 'off') return null;
      if (DECIMAL_INTEGER.test(trimmed) && Number(trimmed) <= 23) return Number(trimmed);
      context.issues.push({
        code: 'custom',
        input: value,
        message: `must be an hour from 0 to 23, or off (or empty)${got(value, false)}`,
      });
      return z.NEVER;
    });
}

/** true/false/1/0/yes/no, case-insensitive; anything else is an error. */
export const boolean = () =>
  z.stringbool({
    truthy: ['true', '1', 'yes'],
    falsy: ['false', '0', 'no'],
    case: 'insensitive',
    error: (issue) => `must be one of true, false, 1, 0, yes, no${got(issue.input, false)}`,
  });

/** One of `values`, case-insensitive; the output is lower-case. */
export function oneOf<const Value extends string>(values: readonly Value[]) {
  const allowed: readonly string[] = values;
  return checked(`one of ${values.join(', ')}`, (value) => allowed.includes(value.toLowerCase())).transform(
    (value) => value.toLowerCase() as Value,
  );
}

interface UrlOptions extends KindOptions {
  /** Drop trailing slashes, so callers can append paths that start with `/`. */
  readonly base?: boolean;
}

function url(protocol: RegExp, expected: string, { secret = false, base = false }: UrlOptions) {
  const message = (issue: { readonly input?: unknown }) => `must be ${expected}${got(issue.input, secret)}`;
  return z
    .url({ protocol, hostname: /./, error: message })
    .refine((value) => !/\s/.test(value), { error: message })
    .transform((value) => (base ? value.replace(/\/+$/, '') : value));
}

/** An absolute http:// or https:// URL with a host and no whitespace. */
export const httpUrl = (options: UrlOptions = {}) => url(z.regexes.httpProtocol, 'an http:// or https:// URL', options);

/** A redis:// or rediss:// URL; treated as secret because it may carry a password. */
export const redisUrl = () => url(/^rediss?$/, 'a redis:// or rediss:// URL', { secret: true });

/** An smtp:// or smtps:// URL; treated as secret because it usually carries a password. */
export const smtpUrl = () => url(/^smtps?$/, 'an smtp:// or smtps:// URL', { secret: true });

/** Any non-blank text. */
export const text = () => z.string();

/** A host name or IP address to bind: no whitespace, no scheme, no path. */
export const host = () =>
  checked('a host name or IP address (no scheme, no port)', (value) => /^[\w.-]+$|^\[?[\da-fA-F:.]+\]?$/.test(value));

/** `x.y.z`, optionally with a pre-release or build suffix. */
export const version = () => checked('a version like 1.2.3', (value) => /^\d+\.\d+\.\d+(?:[-+][\w.+-]+)?$/.test(value));

/**
 * A Redis key prefix: no whitespace and no braces, because keys are hash-tagged (`{...}`) for
 * Redis Cluster and a brace in the prefix would move the hash slot.
 */
export const keyPrefix = () => checked('a key prefix without whitespace or braces', (value) => !/[\s{}]/.test(value));

const CLUSTER_NODE = /^(\[[\da-fA-F:.]+\]|[\w.-]+):(\d{1,5})$/;

/**
 * A comma-separated list of `host:port` (IPv6 hosts in brackets); empty entries are skipped.
 * The output is the list of trimmed entries.
 */
export const clusterNodes = () =>
  z.string().transform((value, context) => {
    const nodes = value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    const bad = nodes.find((node) => {
      const match = CLUSTER_NODE.exec(node);
      const nodePort = Number(match?.[2]);
      return match === null || nodePort < 1 || nodePort > 65_535;
    });
    if (bad !== undefined) {
      context.issues.push({
        code: 'custom',
        input: value,
        message: `must be a comma-separated list of host:port, got ${JSON.stringify(bad)}`,
      });
      return z.NEVER;
    }
    return nodes;
  });

const email = z.email();

/** One e-mail address or a comma-separated list of them. */
export const emailList = () =>
  checked('an e-mail address or a comma-separated list of them', (value) =>
    value.split(',').every((entry) => email.safeParse(entry.trim()).success),
  );

/** `addr@host` or `Name <addr@host>`. */
export const mailbox = () =>
  checked('an e-mail address, or Name <address>', (value) => {
    const address = /^[^<>]*<([^<>]+)>$/.exec(value)?.[1] ?? value;
    return email.safeParse(address.trim()).success;
  });
