import { describe, expect, it } from 'vitest';
import {
  countPromptTokens,
  digest,
  fakeCompletion,
  fakeReasoningTokens,
  isReasoningModel,
  messageText,
} from '../src/index';

describe('prompt token counting', () => {
  it('charges ceil(chars / 4) + 4 for every message', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' }, // 9 chars -> 3 + 4
      { role: 'user', content: 'abcd' }, // 4 chars -> 1 + 4
      { role: 'assistant', content: null }, // 0 chars -> 0 + 4
    ];
    expect(countPromptTokens(messages)).toBe(7 + 5 + 4);
    expect(countPromptTokens([])).toBe(0);
  });

  it('counts only the text parts of array content', () => {
    const content = [
      { type: 'text', text: 'hello ' },
      { type: 'image_url', image_url: { url: 'data:,' } },
      { type: 'text', text: 'world' },
    ];
    expect(messageText(content)).toBe('hello world');
    expect(countPromptTokens([{ role: 'user', content }])).toBe(Math.ceil(11 / 4) + 4);
  });
});

describe('the deterministic reply', () => {
  const messages = [
    { role: 'user', content: 'first question' },
    { role: 'assistant', content: 'an answer' },
    { role: 'user', content: 'what is  the\nweather' },
  ];

  it('echoes a digest and the words of the last user message, one piece per token', () => {
    const reply = fakeCompletion(messages);
    expect(reply.pieces).toEqual(['Echo:', ` ${digest('what is  the\nweather')}`, ' what', ' is', ' the', ' weather']);
    expect(reply.content).toBe(reply.pieces.join(''));
    expect(reply.completionTokens).toBe(6);
    expect(reply.promptTokens).toBe(countPromptTokens(messages));
    expect(reply.finishReason).toBe('stop');
  });

  it('is the same for the same request and differs for another prompt', () => {
    expect(fakeCompletion(messages)).toEqual(fakeCompletion(messages));
    expect(digest('a')).toMatch(/^[0-9a-f]{8}$/);
    expect(digest('a')).not.toBe(digest('b'));
  });

  it('cuts the reply to maxTokens with finish reason length, and only then', () => {
    const cut = fakeCompletion(messages, { maxTokens: 3 });
    expect(cut.pieces).toHaveLength(3);
    expect(cut.completionTokens).toBe(3);
    expect(cut.finishReason).toBe('length');
    expect(fakeCompletion(messages, { maxTokens: 6 }).finishReason).toBe('stop');
  });

  it('echoes at most 16 words of a long message', () => {
    const long = Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ');
    expect(fakeCompletion([{ role: 'user', content: long }]).completionTokens).toBe(2 + 16);
  });

  it('repeats the echo to replyTokens pieces', () => {
    const reply = fakeCompletion([{ role: 'user', content: 'hi' }], { replyTokens: 7 });
    expect(reply.completionTokens).toBe(7);
    expect(reply.content).toBe(`Echo: ${digest('hi')} hi Echo: ${digest('hi')} hi Echo:`);
    expect(fakeCompletion([{ role: 'user', content: 'hi' }], { replyTokens: 7, maxTokens: 2 }).finishReason).toBe(
      'length',
    );
  });

  it('digests the empty string when there is no user message', () => {
    expect(fakeCompletion([{ role: 'system', content: 'x' }]).pieces).toEqual(['Echo:', ` ${digest('')}`]);
  });
});

describe('reasoning tokens', () => {
  it('treats every model as reasoning but non-reasoning ids, grok-3 and grok-2*', () => {
    const reasoning = ['grok-4-fast', 'grok-4-fast-reasoning', 'grok-4', 'grok-4-0709', 'grok-3-mini'];
    for (const model of [...reasoning, 'grok-code-fast-1', 'grok-4-1-fast', 'grok-4-1-fast-reasoning']) {
      expect(isReasoningModel(model), model).toBe(true);
    }
    for (const model of ['grok-4-fast-non-reasoning', 'grok-4-1-fast-non-reasoning', 'grok-3', 'grok-2-1212']) {
      expect(isReasoningModel(model), model).toBe(false);
    }
  });

  it('bills 8 + digest(last user message) % 25 for a reasoning model and 0 for another', () => {
    const messages = [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'reply' },
      { role: 'user', content: 'how many tokens do you think?' },
    ];
    const expected = 8 + (Number.parseInt(digest('how many tokens do you think?'), 16) % 25);
    expect(fakeReasoningTokens('grok-4', messages)).toBe(expected);
    expect(fakeReasoningTokens('grok-3', messages)).toBe(0);
    expect(fakeReasoningTokens('grok-4', [{ role: 'system', content: 'x' }])).toBe(
      8 + (Number.parseInt(digest(''), 16) % 25),
    );
    const spread = new Set(
      Array.from({ length: 200 }, (_, i) => fakeReasoningTokens('grok-4', [{ role: 'user', content: `q${i}` }])),
    );
    expect(Math.min(...spread)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...spread)).toBeLessThanOrEqual(32);
    expect(spread.size).toBeGreaterThan(10);
  });

  it('adds them to a reply only when asked, outside its pieces and untouched by maxTokens', () => {
    const messages = [{ role: 'user', content: 'think hard' }];
    expect(fakeCompletion(messages).reasoningTokens).toBe(0);
    const reasoned = fakeCompletion(messages, { reasoning: true, maxTokens: 1 });
    expect(reasoned.reasoningTokens).toBe(fakeReasoningTokens('grok-4', messages));
    expect(reasoned.completionTokens).toBe(1);
  });
});
