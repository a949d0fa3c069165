import { loadConfig } from '@flashcase/config';
import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProvider } from '../../src/providers/create-provider';
import { OpenAICompatibleProvider } from '../../src/providers/openai-compatible';
import { SimulatedProvider } from '../../src/providers/simulated';

describe('the provider AI_PROVIDER names', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: 'xai-provider-key' });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('is the simulator, with no upstream and no connection pool, without a key', async () => {
    const provider = createProvider(loadConfig('ai-proxy', { ENVIRONMENT: 'test' }));
    expect(provider).toBeInstanceOf(SimulatedProvider);
    expect(provider.name).toBe('simulated');
    expect(provider.server).toBeUndefined();
    expect(provider.connections).toBeUndefined();
    await provider.close();
  });

  it('calls XAI_BASE_URL with XAI_API_KEY, with AI_UPSTREAM_MAX_CONNECTIONS connections', async () => {
    const provider = createProvider(
      loadConfig('ai-proxy', {
        ENVIRONMENT: 'test',
        XAI_API_KEY: 'xai-provider-key',
        XAI_BASE_URL: fake.url,
        AI_UPSTREAM_MAX_CONNECTIONS: '3',
      }),
    );
    try {
      expect(provider).toBeInstanceOf(OpenAICompatibleProvider);
      expect(provider.name).toBe('xai');
      expect(provider.server).toEqual({ address: '127.0.0.1', port: fake.port });
      expect(provider.connections?.limit).toBe(3);
      const answer = await provider.complete(
        {
          operation: 'chat',
          model: 'grok-4',
          messages: [{ role: 'user', content: 'hello there' }],
          temperature: 0.2,
          maxTokens: 50,
          choices: 1,
          stream: false,
        },
        new AbortController().signal,
      );
      expect(answer.content).toMatch(/^Echo: /);
      expect(fake.requests.at(-1)?.headers.authorization).toBe('Bearer xai-provider-key');
    } finally {
      await provider.close();
    }
  });

  it('is the xai client even without a key (the routes refuse before calling it)', async () => {
    const provider = createProvider(loadConfig('ai-proxy', { ENVIRONMENT: 'test', AI_PROVIDER: 'xai' }));
    expect(provider.name).toBe('xai');
    await provider.close();
  });
});
