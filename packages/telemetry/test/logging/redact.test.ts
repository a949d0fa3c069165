import { describe, expect, it } from 'vitest';
import { isSecretKey, REDACTED, redact, redactString } from '../../src/logging/redact';

describe('redaction', () => {
  it('replaces secret keys at any depth, whatever their spelling', () => {
    const input = {
      user: 'u1',
      headers: { Authorization: 'Bearer abc.def', cookie: 'sid=1', 'x-internal-token': 'internal' },
      nested: { deeper: [{ password: 'hunter2', API_KEY: 'k', apiKey: 'k2', client_secret: 's', jwtSecret: 'j' }] },
    };
    const out = redact(input) as typeof input;
    expect(out.user).toBe('u1');
    expect(out.headers).toEqual({ Authorization: REDACTED, cookie: REDACTED, 'x-internal-token': REDACTED });
    expect(out.nested.deeper[0]).toEqual({
      password: REDACTED,
      API_KEY: REDACTED,
      apiKey: REDACTED,
      client_secret: REDACTED,
      jwtSecret: REDACTED,
    });
    // the input is not mutated
    expect(input.headers.Authorization).toBe('Bearer abc.def');
  });

  it('keeps token counts, which are not secrets', () => {
    for (const key of ['tokens_used', 'prompt_tokens', 'max_tokens', 'total_tokens'])
      expect(isSecretKey(key)).toBe(false);
    for (const key of ['token', 'access_token', 'refresh_token', 'x-internal-token', 'idToken'])
      expect(isSecretKey(key)).toBe(true);
    expect(redact({ tokens_used: 42, usage: { completion_tokens: 7 } })).toEqual({
      tokens_used: 42,
      usage: { completion_tokens: 7 },
    });
  });

  it('masks card numbers that pass the Luhn check and leaves other digit runs alone', () => {
    expect(redactString('paid with 4111 1111 1111 1111 today')).toBe('paid with [REDACTED_CARD] today');
    expect(redactString('card 5500-0000-0000-0004')).toBe('card [REDACTED_CARD]');
    // 16 digits failing Luhn (an id, a timestamp) stay
    expect(redactString('order 4111111111111112')).toBe('order 4111111111111112');
    // epoch milliseconds, 10 % of which pass Luhn by chance, are never cards
    for (let ts = 1761061342000; ts < 1761061342100; ts++) expect(redactString(`ts ${ts}`)).toBe(`ts ${ts}`);
  });

  it('masks bearer credentials, JWTs and URL passwords inside free text', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl';
    expect(redactString('Authorization: Bearer sk-live-123')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactString(`token=${jwt} end`)).toBe(`token=${REDACTED} end`);
    expect(redactString('connect redis://default:s3cret@10.0.0.1:6379/0')).toBe(
      `connect redis://${REDACTED}@10.0.0.1:6379/0`,
    );
  });

  it('hides prompt and completion text unless AI content logging is on', () => {
    const record = { prompt: 'What is the capital of France?', completion: 'Paris', model: 'grok-4-fast' };
    const hidden = redact(record) as Record<string, string>;
    expect(hidden.prompt).not.toContain('France');
    expect(hidden.completion).not.toContain('Paris');
    expect(hidden.model).toBe('grok-4-fast');
    expect(redact(record, { keepAIContent: true })).toEqual(record);
  });

  it('survives cycles, errors and absurd depth without throwing', () => {
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    expect((redact(cyclic) as Record<string, unknown>).self).toBe('[Circular]');

    const error = Object.assign(new Error('failed with Bearer abc'), { code: 'ECONNRESET' });
    const out = redact({ err: error }) as { err: Record<string, unknown> };
    expect(out.err.message).toBe(`failed with Bearer ${REDACTED}`);
    expect(out.err.code).toBe('ECONNRESET');
    expect(out.err.name).toBe('Error');

    let deep: Record<string, unknown> = { password: 'p' };
    for (let i = 0; i < 50; i++) deep = { next: deep };
    expect(JSON.stringify(redact(deep))).toContain('[Truncated]');
  });
});
