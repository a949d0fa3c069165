import type { DigestFiguresJson, DigestLineJson, UsageDigestJson } from '@flashcase/config';
import type { Message } from '../notify/notification';

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** `$0.0123` under a dollar (four decimals), `$12.34` above. */
export function usd(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return 'n/a';
  return `$${value.toFixed(Math.abs(value) < 1 ? 4 : 2)}`;
}

const percent = (ratio: number) => `${(ratio * 100).toFixed(1)} %`;

/** `+23.5 %` against `base`; `new` when the base is 0 and the value is not. */
export function change(value: number, base: number): string {
  if (base === 0) return value === 0 ? '±0 %' : 'new';
  const delta = ((value - base) / base) * 100;
  return `${delta >= 0 ? '+' : '-'}${Math.abs(delta).toFixed(1)} %`;
}

function figuresLines(d: UsageDigestJson): string[] {
  const { day, previous_day: before, last_7_days_average: week } = d;
  const billedShare = day.billed_share;
  const versus = (pick: (f: DigestFiguresJson) => number, format: (n: number) => string) =>
    `the day before ${format(pick(before))} (${change(pick(day), pick(before))}), 7-day average ${format(pick(week))} (${change(pick(day), pick(week))})`;
  return [
    `Tokens: ${count(day.total_tokens)} (prompt ${count(day.prompt_tokens)}, completion ${count(day.completion_tokens)}) in ${count(day.requests)} requests, ${count(day.errors)} error${day.errors === 1 ? '' : 's'}`,
    `  vs ${versus((f) => f.total_tokens, count)}`,
    `Cost: ${usd(day.cost_usd)} (billed by the provider ${percent(billedShare)}, priced from the table ${percent(day.cost_usd > 0 ? 1 - billedShare : 0)})`,
    `  vs ${versus((f) => f.cost_usd, usd)}`,
    `Active users: ${count(day.active_users)} (the day before ${count(before.active_users)}, 7-day average ${count(week.active_users)})`,
  ];
}

function lineText(line: DigestLineJson): string {
  return `${line.name}: ${usd(line.cost_usd)}, ${count(line.total_tokens)} tokens, ${count(line.requests)} requests`;
}

function ranked(lines: readonly DigestLineJson[], empty: string): string[] {
  return lines.length === 0 ? [`  ${empty}`] : lines.map((line, i) => `  ${i + 1}. ${lineText(line)}`);
}

function budgetLines(d: UsageDigestJson): { refusals: string; near: string[] } {
  const refusals = Object.entries(d.budget_refusals)
    .filter(([, n]) => n > 0)
    .sort(([, a], [, b]) => b - a)
    .map(([budget, n]) => `${budget} ${count(n)}`);
  return {
    refusals: refusals.length === 0 ? 'none' : refusals.join(', '),
    near:
      d.users_near_budget.length === 0
        ? ['  none']
        : d.users_near_budget.map((u) => `  ${u.user_id}: ${percent(u.used_ratio)} of ${u.budget}`),
  };
}

function perUserLine(d: UsageDigestJson): string {
  const p = d.per_active_user;
  return `${p.month}: ${usd(p.cost_usd)} over ${count(p.active_users)} active users = ${usd(p.cost_per_active_user_usd)} each; projected for the month ${usd(p.projected_month_cost_usd)}, ${usd(p.projected_cost_per_active_user_usd)} per active user`;
}

/** `FlashCase usage digest 2026-01-14 (Europe/Berlin): $1.23, 45,678 tokens`. */
export function digestSubject(d: UsageDigestJson): string {
  return `FlashCase usage digest ${d.date} (${d.time_zone}): ${usd(d.day.cost_usd)}, ${count(d.day.total_tokens)} tokens`;
}

/** The digest as plain text (the email body). Figures only: no prompt or completion text exists in it. */
export function digestText(d: UsageDigestJson): string {
  const budgets = budgetLines(d);
  return [
    digestSubject(d),
    '',
    ...figuresLines(d),
    '',
    'Top users by cost:',
    ...ranked(d.top_users, 'no AI calls'),
    'Top operations:',
    ...ranked(d.top_operations, 'none'),
    'Top models:',
    ...ranked(d.top_models, 'none'),
    '',
    `Budget refusals: ${budgets.refusals}`,
    'Users near their budgets:',
    ...budgets.near,
    '',
    `Cost per active user, ${perUserLine(d)}`,
    '',
    `Usage digest ${d.date} sent by flashcase-alerting.`,
  ].join('\n');
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 2_900) } });

/** The digest as a Slack incoming-webhook payload. */
export function digestSlackPayload(d: UsageDigestJson): Record<string, unknown> {
  const budgets = budgetLines(d);
  return {
    text: `:bar_chart: ${digestSubject(d)}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `Usage digest ${d.date}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${d.time_zone} · flashcase-alerting` }] },
      section(figuresLines(d).join('\n')),
      section(`*Top users by cost*\n${ranked(d.top_users, 'no AI calls').join('\n')}`),
      section(
        `*Top operations*\n${ranked(d.top_operations, 'none').join('\n')}\n*Top models*\n${ranked(d.top_models, 'none').join('\n')}`,
      ),
      section(`*Budget refusals*: ${budgets.refusals}\n*Users near their budgets*\n${budgets.near.join('\n')}`),
      section(`*Cost per active user*, ${perUserLine(d)}`),
    ],
  };
}

/** The digest of `d.date`, rendered for every channel; its id is `usage-digest:<date>`. */
export function digestMessage(d: UsageDigestJson): Message {
  const id = `usage-digest:${d.date}`;
  return {
    id,
    label: `Usage digest ${d.date}`,
    subject: digestSubject(d),
    text: digestText(d),
    slack: digestSlackPayload(d),
    webhook: { version: '1', kind: 'usage_digest', id, digest: d },
  };
}
