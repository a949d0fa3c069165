import { describe, expect, it } from 'vitest';
import { countPromptTokens } from '../src/index';
import { PromptCache } from '../src/prompt-cache';

const system = { role: 'system', content: 'You are a careful assistant.' };
const ask = (text: string) => ({ role: 'user', content: text });
const reply = (text: string) => ({ role: 'assistant', content: text });

describe('the prompt cache', () => {
  it('caches nothing for a first-seen prompt and all of an identical repeat', () => {
    const cache = new PromptCache();
    const messages = [system, ask('hello')];
    expect(cache.lookupAndRemember(messages)).toBe(0);
    expect(cache.lookupAndRemember(messages)).toBe(countPromptTokens(messages));
  });

  it('caches the longest leading run of messages an earlier request started with', () => {
    const cache = new PromptCache();
    const first = [system, ask('what is 2 + 2?')];
    cache.lookupAndRemember(first);
    const followUp = [...first, reply('4'), ask('and 3 + 3?')];
    expect(cache.lookupAndRemember(followUp)).toBe(countPromptTokens(first));
    // Same system prompt, another question: only the system message is shared.
    expect(cache.lookupAndRemember([system, ask('something else')])).toBe(countPromptTokens([system]));
    // Another system prompt shares no leading message, though the question matches.
    expect(cache.lookupAndRemember([{ role: 'system', content: 'Be rude.' }, ask('what is 2 + 2?')])).toBe(0);
  });

  it('tells messages apart by their whole JSON, role included', () => {
    const cache = new PromptCache();
    cache.lookupAndRemember([ask('same text')]);
    expect(cache.lookupAndRemember([reply('same text')])).toBe(0);
    expect(cache.lookupAndRemember([{ role: 'user', content: [{ type: 'text', text: 'same text' }] }])).toBe(0);
  });

  it('stops remembering new prefixes once it holds maxPrefixes, and forgets all on clear()', () => {
    const cache = new PromptCache(3);
    const long = [system, ask('a'), reply('b'), ask('c'), reply('d')];
    expect(cache.lookupAndRemember(long)).toBe(0);
    expect(cache.size).toBe(3);
    expect(cache.full).toBe(true);
    expect(cache.lookupAndRemember(long)).toBe(countPromptTokens(long.slice(0, 3)));
    expect(cache.lookupAndRemember([ask('new')])).toBe(0);
    expect(cache.lookupAndRemember([ask('new')])).toBe(0);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.lookupAndRemember(long)).toBe(0);
    expect(() => new PromptCache(-1)).toThrow(RangeError);
  });

  it('hashes a long conversation in time linear in its length', () => {
    // 20 000 messages of ~60 chars: linear hashing reads ~1.2M chars; hashing every prefix's JSON
    // anew would read ~12 billion and take minutes.
    const conversation = Array.from({ length: 20_000 }, (_, i) => (i % 2 ? reply : ask)(`message ${i} `.repeat(4)));
    const cache = new PromptCache();
    const started = performance.now();
    expect(cache.lookupAndRemember(conversation)).toBe(0);
    expect(cache.lookupAndRemember(conversation)).toBe(countPromptTokens(conversation));
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
