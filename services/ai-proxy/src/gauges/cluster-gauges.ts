import type { CountersStore } from '@flashcase/store';
import type { Instruments } from '@flashcase/telemetry';
import type { SpendBudgets } from '../budgets/spend-budgets';

/** How often the cluster-wide gauges are read from the store. */
export const GAUGE_REFRESH_MS = 5_000;

/** What the cluster-wide gauges read, and where they report. */
export interface ClusterGaugesDeps {
  store: Pick<CountersStore, 'lastHourTokens'>;
  budgets: Pick<SpendBudgets, 'status'>;
  instruments: Pick<Instruments, 'setTokensLastHourSource' | 'setMonthlyBudgetSource'>;
  /** A monthly spend budget is set (`AI_BUDGET_USD_PER_MONTH`): only then are the budget gauges read. */
  monthlyBudget: boolean;
  intervalMs?: number;
}

/** The running refresh of {@link startClusterGauges}. */
export interface ClusterGauges {
  stop(): void;
}

/**
 * `flashcase.ai.tokens.last_hour` and `flashcase.budget.monthly.{spent,limit}`: cluster-wide
 * figures read from the store every `intervalMs`, not at each metrics collection, so a scrape never
 * waits on the store. Read once before it resolves, so the first scrape has them. A failed read
 * keeps the last value (none before the first success); the interval does not hold the process open.
 */
export async function startClusterGauges({
  store,
  budgets,
  instruments,
  monthlyBudget,
  intervalMs = GAUGE_REFRESH_MS,
}: ClusterGaugesDeps): Promise<ClusterGauges> {
  let lastHourTokens: number | undefined;
  let monthly: { spentUsd: number; limitUsd: number | null } | undefined;
  const refresh = async () => {
    lastHourTokens = await store.lastHourTokens().catch(() => lastHourTokens);
    // the gauges matter only against a monthly budget: no store read without one
    if (monthlyBudget) {
      const [status] = await budgets.status(undefined).catch(() => []);
      if (status) monthly = { spentUsd: status.spent_usd, limitUsd: status.limit_usd };
    }
  };
  await refresh();
  const refresher = setInterval(refresh, intervalMs).unref();
  instruments.setTokensLastHourSource(() => lastHourTokens);
  instruments.setMonthlyBudgetSource(() => monthly);
  return { stop: () => clearInterval(refresher) };
}
