import type { UsageJson } from '@flashcase/config';
import type { UsageDialect } from '@flashcase/fake-openai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { billOf, LONG_PROMPT, usageTotalsJson } from '../helpers/bill';
import { doneEvent, type Harness, type OperationUsage, readSse, startHarness } from '../helpers/harness';

for (const dialect of ['xai', 'openai'] as const satisfies readonly UsageDialect[]) {
  for (const storeKind of ['embedded', 'redis'] as const) {
    describe(`the counters against the ${dialect} bill (${storeKind} store)`, () => {
      let h: Harness;
      beforeAll(async () => {
        h = await startHarness({
          store: storeKind,
          fake: { dialect },
          env: { RATE_LIMIT_AI_PER_MINUTE: '0', RATE_LIMIT_AI_PER_HOUR: '0' },
        });
      });
      afterAll(() => h.close());

      it('counts every token and tick the upstream reported: reasoning, cached, long-context, streamed or not', async () => {
        const card = { messages: [{ role: 'user', content: 'What does the mitochondrion do?' }] };
        const answers: OperationUsage[] = [];
        const op = async (path: string, body: unknown) => {
          const res = await h.post(path, body, 'student-1');
          expect(res.status).toBe(200);
          if ((body as { stream?: boolean }).stream)
            answers.push((doneEvent(await readSse(res)) as { usage: OperationUsage }).usage);
          else answers.push(((await res.json()) as { usage: OperationUsage }).usage);
        };
        await op('/api/v1/ai/chat', card);
        await op('/api/v1/ai/chat', card); // the same prompt again: read from the prompt cache
        await op('/api/v1/ai/chat', { ...card, stream: true });
        await op('/api/v1/ai/rewrite', { text: 'ATP stores energy in phosphate bonds' });
        await op('/api/v1/ai/autocomplete', { text: 'The heart has four', stream: true });

        const client = new OpenAI({
          baseURL: `${h.base}/api/v1/ai`,
          apiKey: 'unused',
          defaultHeaders: h.as('student-2'),
        });
        const plain = await client.chat.completions.create({ model: 'grok-4', messages: card.messages as never });
        const long = await client.chat.completions.create({ model: 'grok-4-fast', messages: LONG_PROMPT });
        const stream = await client.chat.completions.create({
          model: 'grok-4-fast',
          messages: card.messages as never,
          stream: true,
          stream_options: { include_usage: true },
        });
        let streamedUsage: unknown;
        for await (const chunk of stream) if (chunk.usage) streamedUsage = chunk.usage;

        const wire = h.fake.answers;
        expect(wire).toHaveLength(8);
        // chat/completions relays the provider's usage object unchanged
        expect(plain.usage).toEqual(wire[5]?.usage);
        expect(long.usage).toEqual(wire[6]?.usage);
        expect(streamedUsage).toEqual(wire[7]?.usage);
        expect(long.usage?.prompt_tokens).toBeGreaterThan(128_000);
        // the FlashCase operations answer normalised usage: completion includes reasoning
        answers.forEach((usage, i) => {
          const one = billOf([wire[i] as (typeof wire)[number]]);
          expect(usage).toEqual({
            prompt_tokens: one.promptTokens,
            completion_tokens: one.completionTokens,
            total_tokens: one.promptTokens + one.completionTokens,
            reasoning_tokens: one.reasoningTokens,
            cached_prompt_tokens: one.cachedPromptTokens,
          });
        });

        const bill = billOf(wire);
        expect(bill.reasoningTokens).toBeGreaterThan(0);
        expect(bill.cachedPromptTokens).toBeGreaterThan(0);
        const usage = await h.store.usage();
        expect(usage.totals).toEqual({
          promptTokens: bill.promptTokens,
          completionTokens: bill.completionTokens,
          totalTokens: bill.promptTokens + bill.completionTokens,
          reasoningTokens: bill.reasoningTokens,
          cachedPromptTokens: bill.cachedPromptTokens,
          requests: 8,
          errors: 0,
          costTicks: bill.costTicks,
        });
        expect(usage.lastHour).toEqual(usage.totals);
        expect((await h.store.userUsage('student-2')).totals.requests).toBe(3);
        expect(usage.byModel['grok-4']).toMatchObject({ requests: 1 });

        const json = (await (
          await fetch(`${h.base}/api/v1/ai/usage`, { headers: h.as('admin', 'admin') })
        ).json()) as UsageJson;
        expect(json.usage).toEqual(usageTotalsJson(bill));
        expect(json.usage.total_requests).toBe(8);
        expect(json.estimated_cost_usd).toBe(bill.costTicks / 1e10);
        expect(json.last_hour).toMatchObject({
          reasoning_tokens: bill.reasoningTokens,
          cached_prompt_tokens: bill.cachedPromptTokens,
        });
        // the built-in table and xAI's prices agree: no drift over the billed calls
        expect(json.pricing_check).toEqual({
          calls_billed: bill.billedCalls,
          billed_usd: bill.billedTicks / 1e10,
          priced_usd: bill.billedTicks / 1e10,
          drift_ratio: 0,
          last_24h: {
            calls_billed: bill.billedCalls,
            billed_usd: bill.billedTicks / 1e10,
            priced_usd: bill.billedTicks / 1e10,
            drift_ratio: 0,
          },
        });
        expect(bill.billedCalls).toBe(dialect === 'xai' ? 8 : 0);
      });
    });
  }
}
