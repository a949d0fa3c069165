import type { Usage } from '../gateway/usage';
import { bar, int, type Style, usd } from '../terminal/style';

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

/** The share of the alert threshold used in the rolling hour (0 when the threshold is 0). */
export function thresholdFraction(usage: Usage): number {
  return usage.alert_threshold > 0 ? usage.last_hour.total_tokens / usage.alert_threshold : 0;
}

/**
 * The compact terminal view of one `/api/v1/ai/usage` answer: tokens in the last hour against the
 * alert threshold (a bar), cost with its projection, requests, totals, the operations, and a
 * banner line that is an alert when `alert_triggered`.
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
