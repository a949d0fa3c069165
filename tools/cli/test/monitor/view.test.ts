import { describe, expect, it } from 'vitest';
import type { PricingCheckWindow, Usage, UsageCounters } from '../../src/gateway/usage';
import { renderView } from '../../src/monitor/view';
import { style } from '../../src/terminal/style';

const ZERO: UsageCounters = {
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  reasoning_tokens: 0,
  cached_prompt_tokens: 0,
  requests: 0,
  estimated_cost_usd: 0,
};

/**
 * A usage answer written here (typed as ai-proxy builds it, so a renamed field fails to compile):
 * 12,000 prompt tokens of which 3,000 cached, 4,000 completion of which 1,500 reasoning.
 */
function usage(last24h: PricingCheckWindow, overrides: Partial<Usage> = {}): Usage {
  return {
    usage: {
      total_prompt_tokens: 12_000,
      total_completion_tokens: 4_000,
      total_tokens: 16_000,
      total_requests: 42,
      total_reasoning_tokens: 1_500,
      total_cached_prompt_tokens: 3_000,
    },
    estimated_cost_usd: 0.0948,
    last_hour: {
      prompt_tokens: 2_000,
      completion_tokens: 800,
      total_tokens: 2_800,
      reasoning_tokens: 300,
      cached_prompt_tokens: 1_000,
      requests: 6,
      estimated_cost_usd: 0.0165,
    },
    by_operation: { chat: { ...ZERO, requests: 42 } },
    by_model: {},
    projection: { hourly_usd: 0.0165, daily_usd: 0.396, monthly_usd: 11.88 },
    since: '2026-12-01T16:00:00.000Z',
    alert_threshold: 100_000,
    alert_triggered: false,
    cost_control: {
      model: 'grok-4',
      default_temperature: 0.7,
      max_tokens: { chat: 1_000, rewrite: 800, autocomplete: 60 },
    },
    rate_limits: { ai_per_minute: 5, ai_per_hour: 100, general_per_minute: 60, general_per_hour: 1_000 },
    pricing_check: { ...last24h, last_24h: last24h },
    budgets: [],
    budget_soft_ratio: 0.8,
    users_near_budget: [],
    per_active_user: {
      month: '2026-12',
      active_users: 3,
      cost_usd: 0.0948,
      cost_per_active_user_usd: 0.0316,
      projected_month_cost_usd: 2.9388,
      projected_cost_per_active_user_usd: 0.9796,
    },
    ...overrides,
  };
}

const DRIFTING: PricingCheckWindow = { calls_billed: 25, billed_usd: 0.5, priced_usd: 0.54, drift_ratio: 0.08 };
const YELLOW = '\x1b[33m';

function view(answer: Usage, color = false): (label: string) => string {
  const lines = renderView(answer, { url: 'http://127.0.0.1:8000', now: new Date(), style: style(color) });
  return (label) => lines.find((l) => l.startsWith(label)) ?? '';
}

describe('the monitor view', () => {
  it('shows the reasoning tokens, total and last hour, with their share of completion', () => {
    expect(view(usage(DRIFTING))('Reasoning')).toBe('Reasoning     1,500 total · 300 last hour (37.5% of completion)');
  });

  it('shows the cached share of the prompt tokens, total and last hour', () => {
    expect(view(usage(DRIFTING))('Cached prompt')).toBe('Cached prompt 25.0% of prompt tokens · 50.0% last hour');
  });

  it('shows — for the cached share when there are no prompt tokens, and no completion share without completion', () => {
    const idle = usage(
      { calls_billed: 0, billed_usd: 0, priced_usd: 0, drift_ratio: 0 },
      {
        usage: {
          total_prompt_tokens: 0,
          total_completion_tokens: 0,
          total_tokens: 0,
          total_requests: 0,
          total_reasoning_tokens: 0,
          total_cached_prompt_tokens: 0,
        },
        last_hour: ZERO,
      },
    );
    const line = view(idle);
    expect(line('Cached prompt')).toBe('Cached prompt — of prompt tokens · — last hour');
    expect(line('Reasoning')).toBe('Reasoning     0 total · 0 last hour');
    expect(line('Pricing, 24 h')).toBe('Pricing, 24 h — no billed calls in the last 24 h');
  });

  it('shows the 24 h pricing drift signed, with its billed calls and the two amounts', () => {
    const line = view(usage({ calls_billed: 12, billed_usd: 1, priced_usd: 0.97, drift_ratio: -0.03 }))(
      'Pricing, 24 h',
    );
    expect(line).toBe('Pricing, 24 h -3.0% over 12 billed calls (priced $0.9700 vs billed $1.00)');
  });

  it('marks the drift, in yellow, past 5 % either way with at least 20 billed calls, and only then', () => {
    const cases: [PricingCheckWindow, boolean][] = [
      [DRIFTING, true],
      [{ ...DRIFTING, calls_billed: 19 }, false],
      [{ calls_billed: 40, billed_usd: 1, priced_usd: 0.95, drift_ratio: -0.05 }, false],
      [{ calls_billed: 40, billed_usd: 1, priced_usd: 0.949, drift_ratio: -0.051 }, true],
      [{ calls_billed: 20, billed_usd: 1, priced_usd: 1.2, drift_ratio: 0.2 }, true],
      [{ calls_billed: 1, billed_usd: 0.02, priced_usd: 0.02, drift_ratio: 0 }, false],
    ];
    for (const [check, marked] of cases) {
      const shown = `${check.calls_billed} calls at ${check.drift_ratio}`;
      const plain = view(usage(check))('Pricing, 24 h');
      expect(plain.endsWith('  ! PricingTableDrift'), shown).toBe(marked);
      expect(view(usage(check), true)('Pricing, 24 h').includes(YELLOW), shown).toBe(marked);
    }
    expect(view(usage(DRIFTING))('Pricing, 24 h')).toBe(
      'Pricing, 24 h +8.0% over 25 billed calls (priced $0.5400 vs billed $0.5000)  ! PricingTableDrift',
    );
  });
});
