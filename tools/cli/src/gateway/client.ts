// Talking to the gateway from a terminal tool: one GET or POST, and failures sorted into what the
// operator must do about them (fix the token, start the stack, read the gateway's answer).

/** What went wrong, each with its own exit code (see `EXIT`). */
export type FailureKind = 'auth' | 'connection' | 'answer';

/** Exit codes shared by the tools: scripts can tell a bad token from a stack that is down. */
export const EXIT = Object.freeze({ ok: 0, answer: 1, usage: 2, auth: 3, connection: 4 });

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_SOCKET: 'connection closed',
};

/** A fetch failure as a short reason (`connection refused`), from undici's `cause` chain. */
export function networkReason(err: unknown): string {
  let current: unknown = err;
  let innermost = (err as Error)?.message ?? String(err);
  for (let depth = 0; depth < 4 && current; depth++) {
    const { code, name, message } = current as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string' && NETWORK_CODES[code]) return NETWORK_CODES[code];
    if (name === 'TimeoutError') return 'no answer in time';
    if (typeof message === 'string' && message) innermost = message;
    current = (current as { cause?: unknown }).cause;
  }
  return innermost;
}

/** The contract's error JSON (`{"error": {"code", "message"}}`), or the status line when absent. */
async function errorText(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.message === 'string')
      return `${res.status} ${String(body.error.code)}: ${body.error.message}`;
  } catch {
    // not JSON
  }
  return `${res.status} ${res.statusText}`;
}

/** GETs `path` with the bearer token and returns the JSON; throws `GatewayError` otherwise. */
export async function getJson<T>(base: string, path: string, token: string, timeoutMs = 10_000): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(path, base), {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new GatewayError('connection', `cannot reach the gateway at ${base} (${networkReason(err)})`, undefined, {
      cause: err,
    });
  }
  if (res.status === 401 || res.status === 403) {
    throw new GatewayError('auth', `the gateway refused the token (${await errorText(res)})`, res.status);
  }
  if (!res.ok) throw new GatewayError('answer', `the gateway answered ${await errorText(res)}`, res.status);
  try {
    return (await res.json()) as T;
  } catch (err) {
    throw new GatewayError('answer', 'the gateway answered something that is not JSON', res.status, { cause: err });
  }
}
