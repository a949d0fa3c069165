import type { UsageDigestJson } from '@flashcase/config';
import { EmbeddedAlertStateStore } from '@flashcase/store';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { DailyDigest } from '../../src/digest/daily-digest';
import { change, digestMessage, digestText, usd } from '../../src/digest/render';
import { dueDigest } from '../../src/digest/schedule';
import type { ChannelName } from '../../src/notify/channels';
import type { Message } from '../../src/notify/notification';
import { AlertRepository } from '../../src/state/repository';

const figures = (cost: number, tokens: number, billed: number) => ({
  prompt_tokens: Math.round(tokens * 0.8),
  completion_tokens: Math.round(tokens * 0.2),
  reasoning_tokens: 0,
  cached_prompt_tokens: 0,
  total_tokens: tokens,
  requests: Math.round(tokens / 100),
  errors: 1,
  cost_usd: cost,
  billed_usd: billed,
  billed_share: cost > 0 ? billed / cost : 0,
  active_users: 12,
});

/** ai-proxy's `GET /api/v1/ai/usage/digest` answer, field for field. */
const DIGEST: UsageDigestJson = {
  date: '2026-03-28',
  time_zone: 'Europe/Berlin',
  day: figures(2.5, 120_000, 2),
  previous_day: figures(2, 100_000, 2),
  last_7_days_average: figures(1.25, 80_000, 1),
  top_users: [
    { name: 'student-7', cost_usd: 0.9, total_tokens: 40_000, requests: 300 },
    { name: 'student-2', cost_usd: 0.4, total_tokens: 20_000, requests: 150 },
  ],
  top_operations: [
    { name: 'chat', cost_usd: 2, total_tokens: 100_000, requests: 1000 },
    { name: 'rewrite', cost_usd: 0.5, total_tokens: 20_000, requests: 200 },
  ],
  top_models: [{ name: 'grok-4-fast', cost_usd: 2.5, total_tokens: 120_000, requests: 1200 }],
  budget_refusals: { user_daily_usd: 3, monthly_usd: 0 },
  users_near_budget: [{ user_id: 'student-7', budget: 'user_daily_usd', used_ratio: 0.9 }],
  per_active_user: {
    month: '2026-03',
    active_users: 40,
    cost_usd: 60,
    cost_per_active_user_usd: 1.5,
    projected_month_cost_usd: 66.4,
    projected_cost_per_active_user_usd: 1.66,
  },
};

describe('when the digest is due (USAGE_DIGEST_HOUR in BUDGET_TIMEZONE)', () => {
  const at = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toMillis();

  it("is yesterday's from the hour on, and still the day before's until then", () => {
    expect(dueDigest(at('2026-01-15T08:00:00', 'Europe/Berlin'), 8, 'Europe/Berlin')).toEqual({
      date: '2026-01-14',
      dueAtMs: at('2026-01-15T08:00:00', 'Europe/Berlin'),
    });
    expect(dueDigest(at('2026-01-15T07:59:59', 'Europe/Berlin'), 8, 'Europe/Berlin').date).toBe('2026-01-13');
    expect(dueDigest(at('2026-01-15T23:59:59', 'Europe/Berlin'), 8, 'Europe/Berlin').date).toBe('2026-01-14');
    // 07:30 UTC is 08:30 in Berlin: the local hour counts, not UTC's.
    expect(dueDigest(Date.UTC(2026, 0, 15, 7, 30), 8, 'Europe/Berlin').date).toBe('2026-01-14');
    expect(dueDigest(Date.UTC(2026, 0, 15, 7, 30), 8, 'UTC').date).toBe('2026-01-13');
  });

  it('crosses months and daylight-saving changes by the local calendar', () => {
    expect(dueDigest(at('2026-03-01T09:00:00', 'Europe/Berlin'), 8, 'Europe/Berlin').date).toBe('2026-02-28');
    // 2026-03-29 02:00 does not exist in Berlin: a 02:00 digest is due at 03:00 local (01:00 UTC).
    const spring = dueDigest(at('2026-03-29T03:00:00', 'Europe/Berlin'), 2, 'Europe/Berlin');
    expect(spring).toEqual({ date: '2026-03-28', dueAtMs: Date.UTC(2026, 2, 29, 1, 0) });
    expect(dueDigest(at('2026-10-25T08:00:00', 'Europe/Berlin'), 8, 'Europe/Berlin')).toEqual({
      date: '2026-10-24',
      dueAtMs: Date.UTC(2026, 9, 25, 7, 0),
    });
  });
});

describe('the digest message', () => {
  it('reads as a review: figures against the day before and the week, top users, operations, models, budgets', () => {
    expect(digestText(DIGEST)).toBe(
      [
        'FlashCase usage digest 2026-03-28 (Europe/Berlin): $2.50, 120,000 tokens',
        '',
        'Tokens: 120,000 (prompt 96,000, completion 24,000) in 1,200 requests, 1 error',
        '  vs the day before 100,000 (+20.0 %), 7-day average 80,000 (+50.0 %)',
        'Cost: $2.50 (billed by the provider 80.0 %, priced from the table 20.0 %)',
        '  vs the day before $2.00 (+25.0 %), 7-day average $1.25 (+100.0 %)',
        'Active users: 12 (the day before 12, 7-day average 12)',
        '',
        'Top users by cost:',
        '  1. student-7: $0.9000, 40,000 tokens, 300 requests',
        '  2. student-2: $0.4000, 20,000 tokens, 150 requests',
        'Top operations:',
        '  1. chat: $2.00, 100,000 tokens, 1,000 requests',
        '  2. rewrite: $0.5000, 20,000 tokens, 200 requests',
        'Top models:',
        '  1. grok-4-fast: $2.50, 120,000 tokens, 1,200 requests',
        '',
        'Budget refusals: user_daily_usd 3',
        'Users near their budgets:',
        '  student-7: 90.0 % of user_daily_usd',
        '',
        'Cost per active user, 2026-03: $60.00 over 40 active users = $1.50 each; projected for the month $66.40, $1.66 per active user',
        '',
        'Usage digest 2026-03-28 sent by flashcase-alerting.',
      ].join('\n'),
    );
  });

  it('says so when a day had no calls, and formats changes from zero', () => {
    const quiet: UsageDigestJson = {
      ...DIGEST,
      day: figures(0, 0, 0),
      top_users: [],
      top_operations: [],
      top_models: [],
      budget_refusals: {},
      users_near_budget: [],
    };
    const text = digestText(quiet);
    expect(text).toContain('Top users by cost:\n  no AI calls');
    expect(text).toContain('Budget refusals: none');
    expect(text).toContain('priced from the table 0.0 %');
    expect(change(5, 0)).toBe('new');
    expect(change(0, 0)).toBe('±0 %');
    expect(change(1, 2)).toBe('-50.0 %');
    expect(usd(null)).toBe('n/a');
  });

  it('gives Slack the same figures in blocks, and one id per day', () => {
    const message = digestMessage(DIGEST);
    expect(message.id).toBe('usage-digest:2026-03-28');
    expect(message.subject).toBe('FlashCase usage digest 2026-03-28 (Europe/Berlin): $2.50, 120,000 tokens');
    const slack = JSON.stringify(message.slack);
    for (const part of ['student-7', 'grok-4-fast', 'user_daily_usd 3', '$66.40', '+25.0 %', 'billed by the provider'])
      expect(slack).toContain(part);
  });
});

describe('DailyDigest', () => {
  class Sender {
    readonly sent: Message[] = [];
    constructor(private readonly channels: ChannelName[]) {}
    configured(route: readonly ChannelName[]) {
      return route.filter((c) => this.channels.includes(c));
    }
    async send(message: Message) {
      this.sent.push(message);
      return { slack: 'sent' as const };
    }
  }
  const log = { info() {}, warn() {}, error() {}, debug() {} } as never;
  const now = DateTime.fromISO('2026-03-29T09:00:00', { zone: 'Europe/Berlin' }).toMillis();

  function digest(hour: number | null, sender: Sender, reads: string[]) {
    return new DailyDigest({
      hour,
      timeZone: 'Europe/Berlin',
      repository: new AlertRepository(new EmbeddedAlertStateStore({ now: () => now })),
      source: {
        async usageDigest(date) {
          reads.push(date);
          return { ...DIGEST, date };
        },
      },
      sender,
      replicaId: 'test',
      log,
    });
  }

  it('sends nothing and reads nothing with USAGE_DIGEST_HOUR off', async () => {
    const sender = new Sender(['slack', 'email']);
    const reads: string[] = [];
    expect(await digest(null, sender, reads).runOnce(now)).toBeUndefined();
    expect(reads).toEqual([]);
    expect(sender.sent).toEqual([]);
  });

  it('sends nothing and reads nothing when neither Slack nor email is configured', async () => {
    const sender = new Sender(['webhook']);
    const reads: string[] = [];
    await digest(8, sender, reads).runOnce(now);
    expect(reads).toEqual([]);
  });

  it('sends the day once, then only looks it up in memory', async () => {
    const sender = new Sender(['slack']);
    const reads: string[] = [];
    const d = digest(8, sender, reads);
    expect((await d.runOnce(now))?.date).toBe('2026-03-28');
    await d.runOnce(now + 60_000);
    await d.idle();
    expect(reads).toEqual(['2026-03-28']);
    expect(sender.sent.map((m) => m.id)).toEqual(['usage-digest:2026-03-28']);
  });
});
