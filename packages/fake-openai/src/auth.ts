import { errorJson } from './wire';

/**
 * OpenAI's 401 error JSON when `authorization` (the request's header) is not `expected` (the
 * `Bearer <apiKey>` the fake was started with); undefined when it matches, or when no key is
 * expected. A missing header and a wrong key get OpenAI's two different messages; a wrong key is
 * echoed masked, never whole.
 */
export function unauthorizedJson(authorization: string | undefined, expected: string | undefined): string | undefined {
  if (expected === undefined || authorization === expected) return undefined;
  if (authorization === undefined) {
    return errorJson(
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      'invalid_request_error',
    );
  }
  return errorJson(
    `Incorrect API key provided: ${maskKey(authorization.replace(/^Bearer\s+/i, ''))}.`,
    'invalid_request_error',
    null,
    'invalid_api_key',
  );
}

/** Masks a key the way OpenAI echoes it back: first and last few characters only. */
export function maskKey(key: string): string {
  return key.length <= 8 ? '*'.repeat(key.length) : `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}`;
}
