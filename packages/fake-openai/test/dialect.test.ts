import { describe, expect, it } from 'vitest';
import type { ChatRequestBody } from '../src/chat-request';
import { checkDialect, chooseDialect } from '../src/dialect';

const body: ChatRequestBody = { model: 'grok-4', messages: [{ role: 'user', content: 'hi' }] };

describe('the usage dialect of a request', () => {
  it("is the header's, in any case and trimmed, whatever dialectOf says", () => {
    expect(chooseDialect(' OpenAI ', body, () => 'xai', 'xai')).toEqual({ dialect: 'openai' });
    expect(chooseDialect('xai', body, () => 'openai', 'openai')).toEqual({ dialect: 'xai' });
  });

  it('is a 400 for any other header value, a repeated header included', () => {
    const bad = chooseDialect('anthropic', body, undefined, 'xai');
    expect(bad).toMatchObject({ status: 400 });
    expect(JSON.parse((bad as { json: string }).json).error).toMatchObject({
      type: 'invalid_request_error',
      message: `Invalid 'x-fake-dialect' header: expected 'xai' or 'openai', got "anthropic".`,
    });
    expect(chooseDialect(['xai', 'xai'], body, undefined, 'xai')).toMatchObject({ status: 400 });
  });

  it("is dialectOf's choice without a header, the server's when it defers", () => {
    expect(chooseDialect(undefined, body, (b) => (b.model === 'grok-4' ? 'openai' : undefined), 'xai')).toEqual({
      dialect: 'openai',
    });
    expect(chooseDialect(undefined, body, () => undefined, 'openai')).toEqual({ dialect: 'openai' });
    expect(chooseDialect(undefined, body, undefined, 'xai')).toEqual({ dialect: 'xai' });
  });

  it('is a 500 server_error when dialectOf throws or names no dialect', () => {
    const threw = chooseDialect(
      undefined,
      body,
      () => {
        throw new Error('no idea');
      },
      'xai',
    );
    expect(threw).toMatchObject({ status: 500 });
    expect(JSON.parse((threw as { json: string }).json).error).toMatchObject({
      type: 'server_error',
      message: 'fake-openai: dialectOf threw: no idea',
    });
    const named = chooseDialect(undefined, body, () => 'claude' as never, 'xai');
    expect(JSON.parse((named as { json: string }).json).error.message).toBe(
      `fake-openai: dialectOf returned "claude", not 'xai' or 'openai'`,
    );
  });

  it('must be xai or openai when set on the server', () => {
    expect(() => checkDialect('xai')).not.toThrow();
    expect(() => checkDialect('OpenAI')).toThrow(TypeError);
    expect(() => checkDialect(undefined)).toThrow("dialect must be 'xai' or 'openai', got undefined");
  });
});
