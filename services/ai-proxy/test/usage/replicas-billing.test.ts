import type { UsageJson } from '@flashcase/config';
import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { deleteKeys, readUntil } from '@flashcase/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billOf, LONG_PROMPT, usageTotalsJson } from '../helpers/bill';
import { API_KEY, REDIS_URL, readSse } from '../helpers/harness';
import { alternatingDialects, asUser, type Replica, replicaEnv, startReplica, stopReplicas } from '../helpers/replica';

describe('three ai-proxy replicas on one Redis, both usage dialects', () => {
  const prefix = `flashcase-test:replicas-billing:${process.pid}:${Date.now()}:`;
  let fake: FakeOpenAI;
  let replicas: Replica[] = [];

  beforeAll(async () => {
    // xAI's and OpenAI's usage alternate, call by call, whichever replica sends it
    fake = await startFakeOpenAI({ apiKey: API_KEY, dialectOf: alternatingDialects() });
    replicas = await Promise.all([0, 1, 2].map(() => startReplica(replicaEnv(prefix, fake.url))));
  }, 60_000);

  afterAll(async () => {
    await stopReplicas(replicas);
    await fake.close();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('leaves every counter equal to the upstream usage, and the cost to the bill plus the table, to the tick', async () => {
    const card = [{ role: 'user' as const, content: 'What does the mitochondrion do?' }];
    const post = (replica: Replica, path: string, body: unknown) =>
      fetch(`${replica.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...asUser(`student-${path.length % 4}`) },
        body: JSON.stringify(body),
      });
    const traffic = replicas.flatMap((replica) => {
      const client = new OpenAI({
        baseURL: `${replica.base}/api/v1/ai`,
        apiKey: 'unused',
        defaultHeaders: asUser('sdk'),
      });
      return [
        post(replica, '/api/v1/ai/chat', { messages: card }).then((r) => r.json()),
        post(replica, '/api/v1/ai/chat', { messages: card, stream: true }).then(readSse),
        post(replica, '/api/v1/ai/rewrite', { text: 'ATP stores energy' }).then((r) => r.json()),
        post(replica, '/api/v1/ai/autocomplete', { text: 'The heart has four', stream: true }).then(readSse),
        client.chat.completions.create({ model: 'grok-4', messages: card }),
        client.chat.completions.create({ model: 'grok-4-fast', messages: LONG_PROMPT }),
        (async () => {
          const stream = await client.chat.completions.create({
            model: 'grok-4-fast',
            messages: card,
            stream: true,
            stream_options: { include_usage: true },
          });
          for await (const _ of stream) {
            // drained
          }
        })(),
      ];
    });
    await Promise.all(traffic);

    const bill = billOf(fake.answers);
    expect(bill.requests).toBe(21);
    expect(new Set(fake.answers.map((a) => a.dialect))).toEqual(new Set(['xai', 'openai']));
    expect(bill.reasoningTokens).toBeGreaterThan(0);
    expect(bill.cachedPromptTokens).toBeGreaterThan(0);
    expect(bill.billedCalls).toBeGreaterThan(0);
    expect(bill.billedCalls).toBeLessThan(21);
    for (const replica of replicas) {
      const usage = await readUntil(
        async () =>
          (await (
            await fetch(`${replica.base}/api/v1/ai/usage`, { headers: asUser('admin', 'admin') })
          ).json()) as UsageJson,
        (u) => u.usage.total_requests >= 21,
      );
      expect(usage.usage).toEqual(usageTotalsJson(bill));
      expect(Math.round(usage.estimated_cost_usd * 1e10)).toBe(bill.costTicks);
      expect(usage.pricing_check.calls_billed).toBe(bill.billedCalls);
      expect(Math.round(usage.pricing_check.billed_usd * 1e10)).toBe(bill.billedTicks);
      expect(usage.pricing_check.drift_ratio).toBe(0);
    }
  }, 60_000);
});
