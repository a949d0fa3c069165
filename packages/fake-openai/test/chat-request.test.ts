import { describe, expect, it } from 'vitest';
import { parseChatRequest } from '../src/chat-request';
import { RequestError } from '../src/features';

const messages = [{ role: 'user', content: 'hello' }];

/** The refusal `parseChatRequest` throws for `body`, as OpenAI's error names it. */
function refusal(body: unknown) {
  try {
    parseChatRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(RequestError);
    const { message, param, code } = err as RequestError;
    return { message, param, code };
  }
  throw new Error('accepted');
}

describe('checking a chat completion request', () => {
  it('refuses a body that is not a JSON object, naming no parameter', () => {
    for (const body of [null, [], 'text', 7]) {
      expect(refusal(body)).toEqual({ message: 'The request body must be a JSON object.', param: null, code: null });
    }
  });

  it('refuses a missing or empty model before looking at the messages', () => {
    expect(refusal({ messages: [] }).param).toBe('model');
    expect(refusal({ model: '', messages })).toMatchObject({
      param: 'model',
      message: 'you must provide a model parameter',
    });
  });

  it('refuses missing or empty messages', () => {
    expect(refusal({ model: 'grok-4' }).param).toBe('messages');
    expect(refusal({ model: 'grok-4', messages: [] }).param).toBe('messages');
  });

  it('refuses a max_tokens or max_completion_tokens below 1 or not an integer', () => {
    expect(refusal({ model: 'grok-4', messages, max_tokens: 0 })).toEqual({
      message: "Invalid 'max_tokens': expected an integer >= 1, but got 0 instead.",
      param: 'max_tokens',
      code: 'integer_below_min_value',
    });
    expect(refusal({ model: 'grok-4', messages, max_completion_tokens: 2.5 }).param).toBe('max_completion_tokens');
    expect(refusal({ model: 'grok-4', messages, max_tokens: '10' }).param).toBe('max_tokens');
  });

  it('takes the smaller of the two token caps, and null as unset', () => {
    expect(parseChatRequest({ model: 'grok-4', messages, max_tokens: 30, max_completion_tokens: 20 }).maxTokens).toBe(
      20,
    );
    expect(parseChatRequest({ model: 'grok-4', messages, max_tokens: null, max_completion_tokens: 9 }).maxTokens).toBe(
      9,
    );
    expect(parseChatRequest({ model: 'grok-4', messages }).maxTokens).toBeUndefined();
  });

  it('refuses stream_options without stream, and takes them with it', () => {
    expect(refusal({ model: 'grok-4', messages, stream_options: { include_usage: true } }).param).toBe(
      'stream_options',
    );
    const streamed = parseChatRequest({
      model: 'grok-4',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(streamed.stream).toBe(true);
    expect(parseChatRequest({ model: 'grok-4', messages, stream: 'yes' }).stream).toBe(false);
  });

  it('parses the features only of a request that has some, and refuses bad ones', () => {
    expect(parseChatRequest({ model: 'grok-4', messages, temperature: 0.2 }).features).toBeUndefined();
    expect(parseChatRequest({ model: 'grok-4', messages, n: 3 }).features).toMatchObject({ n: 3, calls: [] });
    expect(refusal({ model: 'grok-4', messages, n: 0 }).param).toBe('n');
  });

  it('keeps the body as sent, unknown fields included', () => {
    const body = { model: 'grok-4', messages, seed: 42, user: 'u1' };
    expect(parseChatRequest(body).body).toBe(body);
  });
});
