import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness';

describe('the OpenAI-compatible surface to the official openai SDK', () => {
  let h: Harness;
  const client = (headers: Record<string, string>) =>
    new OpenAI({ baseURL: `${h.base}/api/v1/ai`, apiKey: 'unused', defaultHeaders: headers, maxRetries: 0 });
  beforeAll(async () => {
    h = await startHarness({ env: { RATE_LIMIT_AI_PER_MINUTE: '1', RATE_LIMIT_AI_PER_HOUR: '0' } });
  });
  afterAll(() => h.close());

  it('lists the models this deployment allows (the pricing table), and 404s any other', async () => {
    const sdk = client(h.as('models-user'));
    const ids: string[] = [];
    for await (const model of sdk.models.list()) ids.push(model.id);
    expect(ids).toContain('grok-4-fast');
    expect(ids).toContain('grok-3-mini');
    const one = await sdk.models.retrieve('grok-4');
    expect(one).toMatchObject({ id: 'grok-4', object: 'model', owned_by: 'xai' });
    expect(typeof one.created).toBe('number');
    const missing = await sdk.models.retrieve('gpt-4o').catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).type).toBe('not_found_error');
  });

  it("names OpenAI's error type, so the SDK raises its own class for 400, 401, 403, 404 and 429", async () => {
    const sdk = client(h.as('errors-user'));
    const classify = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (err: unknown) => err,
      );

    const bad = await classify(sdk.chat.completions.create({ model: 'grok-4-fast', messages: [] }));
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.APIError>).type).toBe('invalid_request_error');

    const unauthenticated = await classify(
      client({ 'x-internal-token': 'wrong', 'x-flashcase-user-id': 'x' }).models.list(),
    );
    expect(unauthenticated).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((unauthenticated as InstanceType<typeof OpenAI.APIError>).type).toBe('authentication_error');

    const forbidden = await classify(sdk.get('/usage'));
    expect(forbidden).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((forbidden as InstanceType<typeof OpenAI.APIError>).type).toBe('permission_error');

    const missing = await classify(sdk.get('/no-such-route'));
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);

    const messages = [{ role: 'user' as const, content: 'one' }];
    await sdk.chat.completions.create({ model: 'grok-4-fast', messages });
    const limited = await classify(sdk.chat.completions.create({ model: 'grok-4-fast', messages }));
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    const error = limited as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.type).toBe('rate_limit_error');
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
  });
});
