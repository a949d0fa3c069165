import { describe, expect, it } from 'vitest';
import { maskKey, unauthorizedJson } from '../src/auth';

describe('the API key check', () => {
  it('lets every request through when no key is expected', () => {
    expect(unauthorizedJson(undefined, undefined)).toBeUndefined();
    expect(unauthorizedJson('Bearer anything', undefined)).toBeUndefined();
  });

  it('lets the expected bearer key through', () => {
    expect(unauthorizedJson('Bearer xai-key-0123456789', 'Bearer xai-key-0123456789')).toBeUndefined();
  });

  it("answers a missing key with OpenAI's message and no code", () => {
    const { error } = JSON.parse(unauthorizedJson(undefined, 'Bearer k') as string);
    expect(error.type).toBe('invalid_request_error');
    expect(error.code).toBeNull();
    expect(error.message).toMatch(/^You didn't provide an API key/);
  });

  it('answers a wrong key with invalid_api_key, echoing the key masked', () => {
    const { error } = JSON.parse(unauthorizedJson('Bearer sk-wrong-key-123456', 'Bearer right') as string);
    expect(error.code).toBe('invalid_api_key');
    expect(error.message).toBe(`Incorrect API key provided: ${maskKey('sk-wrong-key-123456')}.`);
    expect(error.message).not.toContain('wrong-key');
  });

  it('masks all but the first three and last four characters, and a short key entirely', () => {
    expect(maskKey('sk-abcdefghij1234')).toBe('sk-**********1234');
    expect(maskKey('short')).toBe('*****');
  });
});
