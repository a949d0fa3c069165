import type { PricingCheckWindow, Usage } from '../gateway/usage';
import { bar, int, percent, type Style, share, signedPercent, usd } from '../terminal/style';

export interface ViewContext {
  url: string;
  now: Date;
  style: Style;
  /** Columns available (the bar shrinks to fit; 80 when unknown). */
  columns?: number;
  /** A line about the last poll when it failed (the view keeps the previous data). */
  problem?: string;
}

const LABEL = 14;

function row(label: string, value: string): string {
  return `${label.padEnd(LABEL)}${value}`;
}

/**
 * The default PricingTableDrift rule (services/alerting's seed): the table more than 5 % off the
 * bill over 24 h, with at least 20 billed calls. A rules file can move the alert's own threshold.
 */
const DRIFT_LIMIT = 0.05;
const DRIFT_MIN_CALLS = 20;

/** Whether the pricing check is past what the default PricingTableDrift rule fires on (either sign). */
export function pricingDrifts(check: PricingCheckWindow): boolean {
  return check.calls_billed >= DRIFT_MIN_CALLS && Math.abs(check.drift_ratio) > DRIFT_LIMIT;
}

/** `+8.0% over 25 billed calls (priced $0.5400 vs billed $0.5000)`, marked when the rule would fire. */
function pricingRow(check: PricingCheckWindow, s: Style): string {
  if (check.calls_billed === 0) return s.dim('— no billed calls in the last 24 h');
  const calls = `${int(check.calls_billed)} billed call${check.calls_billed === 1 ? '' : 's'}`;
  const text = `${signedPercent(check.drift_ratio)} over ${calls} (priced ${usd(check.priced_usd)} vs billed ${usd(check.billed_usd)})`;
  // The mark is words too, so a piped (colourless) view still shows it.
  return pricingDrifts(check) ? s.yellow(`${text}  ! PricingTableDrift`) : text;
}

/** The share of the alert threshold used in the rolling hour (0 when the threshold is 0). */
export function thresholdFraction(usage: Usage): number {
  return usage.alert_threshold > 0 ? usage.last_hour.total_tokens / usage.alert_threshold : 0;
}

/**
 * The compact terminal view of one `/api/v1/ai/usage` answer: tokens in the last hour against the
 * alert threshold (a bar), cost with its projection, requests, totals, reasoning tokens, the cached
 * share of the prompt (`—` with no prompt tokens), the pricing check over 24 h (yellow and marked
 * past the PricingTableDrift rule), the operations, and a banner line that is an alert when
 * `alert_triggered`.
 */
export function renderView(usage: Usage, { url, now, style: s, columns = 80, problem }: ViewContext): string[] {
  const fraction = thresholdFraction(usage);
  const barWidth = Math.max(10, Math.min(40, columns - LABEL - 32));
  const paint = usage.alert_triggered ? s.red : fraction >= 0.5 ? s.yellow : s.green;
  const hour = usage.last_hour;
  const operations = Object.entries(usage.by_operation)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, c]) => `${name} ${int(c.requests)}`)
    .join(' · ');
  const lines = [
    `${s.bold('FlashCase AI usage')}  ${s.dim(url)}  ${s.dim(now.toLocaleTimeString('en-GB', { hour12: false }))}`,
    row(
      'Tokens/hour',
      `${int(hour.total_tokens)} / ${int(usage.alert_threshold)}  ${paint(`[${bar(fraction, barWidth)}]`)} ${(fraction * 100).toFixed(1)}%`,
    ),
    row(
      'Cost',
      `${usd(usage.estimated_cost_usd)} total · ${usd(hour.estimated_cost_usd)} last hour · projected ${usd(usage.projection.daily_usd)}/day, ${usd(usage.projection.monthly_usd)}/month`,
    ),
    row('Requests', `${int(usage.usage.total_requests)} total · ${int(hour.requests)} last hour`),
    row(
      'Tokens',
      `${int(usage.usage.total_tokens)} total (prompt ${int(usage.usage.total_prompt_tokens)} · completion ${int(usage.usage.total_completion_tokens)})`,
    ),
    row(
      'Reasoning',
      `${int(usage.usage.total_reasoning_tokens)} total · ${int(hour.reasoning_tokens)} last hour` +
        (usage.usage.total_completion_tokens > 0
          ? ` (${percent(usage.usage.total_reasoning_tokens / usage.usage.total_completion_tokens)} of completion)`
          : ''),
    ),
    row(
      'Cached prompt',
      `${share(usage.usage.total_cached_prompt_tokens, usage.usage.total_prompt_tokens)} of prompt tokens · ${share(hour.cached_prompt_tokens, hour.prompt_tokens)} last hour`,
    ),
    row('Pricing, 24 h', pricingRow(usage.pricing_check.last_24h, s)),
    row('Operations', operations || s.dim('none yet')),
  ];
  if (usage.alert_triggered) {
    lines.push(
      s.banner(
        ` ALERT  ${int(hour.total_tokens)} tokens in the last hour >= threshold ${int(usage.alert_threshold)} (HighTokenUsage) `,
      ),
    );
  } else {
    lines.push(s.green(`OK     below the alert threshold (${(fraction * 100).toFixed(1)}% used)`));
  }
  if (problem) lines.push(s.yellow(`last poll failed: ${problem}`));
  return lines;
}
