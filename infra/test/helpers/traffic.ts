import { AI_PER_MINUTE, GENERAL_PER_MINUTE, type Stack } from './stack';

export interface Answer {
  status: number;
  text: string;
}

async function call(stack: Stack, method: string, path: string, userId: string, body?: unknown): Promise<Answer> {
  const role = userId.startsWith('admin') ? 'admin' : 'user';
  const response = await fetch(`${stack.gateway.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.token(userId, role)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // Read to the end: a streamed answer is only counted once the stream is done.
  return { status: response.status, text: await response.text() };
}

const chat = { messages: [{ role: 'user', content: 'What does ATP stand for?' }] };

/**
 * One wave of the suite's traffic through the gateway, the way users make it: successful chat,
 * streamed chat, rewrite and autocomplete calls from several users, a user who runs into the AI
 * limit (429 `ai_per_minute` at ai-proxy), one over the daily spend budget an admin set for them
 * (429 `budget_exceeded`), one who runs into the general limit (429
 * `general_per_minute` at the gateway), an unknown route (404), an admin's usage call, upstream
 * failures (the fake LLM answering 500 then 429: 502 `upstream_error`, 503 `upstream_rate_limited`),
 * and an answer whose usage does not add up (counted as far as known, priced from the table and
 * marked invalid). Returns every status seen, for the suite to check the events it needs happened.
 */
export async function driveWave(stack: Stack, wave: number): Promise<number[]> {
  const statuses: number[] = [];
  const record = (answer: Answer) => {
    statuses.push(answer.status);
    return answer;
  };
  const readers = ['reader-1', 'reader-2', 'reader-3'].map((user) => `${user}-w${wave}`);
  await Promise.all(
    readers.map(async (user) => {
      record(await call(stack, 'POST', '/api/v1/ai/chat', user, chat));
      record(await call(stack, 'POST', '/api/v1/ai/chat', user, { ...chat, stream: true }));
      record(
        await call(stack, 'POST', '/api/v1/ai/rewrite', user, {
          text: 'mitochondria powerhouse',
          instruction: 'formal',
        }),
      );
      record(await call(stack, 'POST', '/api/v1/ai/autocomplete', user, { text: 'The Krebs cycle' }));
    }),
  );
  // Same users in both waves: the limits count across them.
  for (let i = 0; i < AI_PER_MINUTE; i += 1) {
    record(await call(stack, 'POST', '/api/v1/ai/autocomplete', 'flood', { text: `item ${i}` }));
  }
  for (let i = 0; i < GENERAL_PER_MINUTE - 2; i += 1) {
    record(await call(stack, 'GET', '/api/v1/ai/usage/me', 'busy'));
  }
  // A user whose own daily spend budget an admin set below any call's worst case: 429 budget_exceeded.
  const spender = `spender-w${wave}`;
  record(await call(stack, 'PUT', `/api/v1/ai/budgets/users/${spender}`, 'admin-budgets', { daily_usd: 0.0000001 }));
  record(await call(stack, 'POST', '/api/v1/ai/chat', spender, chat));
  record(await call(stack, 'GET', '/api/v1/no-such-route', `reader-1-w${wave}`));
  record(await call(stack, 'GET', '/api/v1/ai/usage', 'admin-ops'));
  record(await call(stack, 'GET', '/api/v1/alerts', 'admin-ops'));

  stack.fake.setBehavior({ kind: 'status', status: 500 });
  record(await call(stack, 'POST', '/api/v1/ai/chat', `unlucky-1-w${wave}`, chat));
  record(await call(stack, 'POST', '/api/v1/ai/chat', `unlucky-2-w${wave}`, chat));
  stack.fake.setBehavior({ kind: 'status', status: 429, retryAfterS: 1 });
  record(await call(stack, 'POST', '/api/v1/ai/chat', `unlucky-3-w${wave}`, chat));
  // A total that matches neither reasoning rule, and no billed cost.
  stack.fake.setBehavior({ kind: 'usage', usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 5 } });
  record(await call(stack, 'POST', '/api/v1/ai/chat', `odd-usage-w${wave}`, chat));
  stack.fake.reset();
  return statuses;
}
