import { describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, modelsEndpoints } from '../src/models';

describe('the models endpoints', () => {
  const endpoints = modelsEndpoints(['grok-4', 'grok/code fast'], 1_700_000_000);

  it('list every model in OpenAI list shape, owned by xai', () => {
    const { status, json } = endpoints.list();
    expect(status).toBe(200);
    expect(JSON.parse(json)).toEqual({
      object: 'list',
      data: [
        { id: 'grok-4', object: 'model', created: 1_700_000_000, owned_by: 'xai' },
        { id: 'grok/code fast', object: 'model', created: 1_700_000_000, owned_by: 'xai' },
      ],
    });
  });

  it('answer one model by its URL-encoded id', () => {
    const { status, json } = endpoints.one(encodeURIComponent('grok/code fast'));
    expect(status).toBe(200);
    expect(JSON.parse(json)).toEqual({
      id: 'grok/code fast',
      object: 'model',
      created: 1_700_000_000,
      owned_by: 'xai',
    });
  });

  it('answer an unknown model with a 404 model_not_found', () => {
    const { status, json } = endpoints.one('grok-9');
    expect(status).toBe(404);
    expect(JSON.parse(json).error).toMatchObject({ code: 'model_not_found', type: 'invalid_request_error' });
  });

  it("default to xAI's models", () => {
    expect(DEFAULT_MODELS).toEqual(['grok-4', 'grok-3', 'grok-3-mini']);
    expect(Object.isFrozen(DEFAULT_MODELS)).toBe(true);
  });
});
