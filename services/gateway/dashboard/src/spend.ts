// The spend panels: today's top spenders (from the reports route), the deployment's monthly budget
// burned against the calendar, and the cost per active user (both from the usage answer). Same
// rules as the other panels: fixed boxes, figures written with textContent, and a failed call keeps
// the last data, dimmed, under a note that names the service.

import {
  type Budget,
  type BudgetUse,
  type Outcome,
  type PerActiveUser,
  type ReportUser,
  TOP_SPENDERS,
  type UsersReport,
} from './api';
import { int, percent, sinceText, usd } from './format';
import { byId, describe, setEmpty, setNote, setText } from './views';

const DAY_MS = 86_400_000;
/** `AI_BUDGET_SOFT_RATIO` (from the usage answer; its default until one came): budget use highlighted from here on. */
let softRatio = 0.8;

export function setSoftRatio(ratio: number): void {
  if (Number.isFinite(ratio) && ratio > 0) softRatio = ratio;
}

function cell(col: string, value: number | null, text: string, title?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.dataset.col = col;
  if (value !== null) td.dataset.value = String(value);
  td.textContent = text;
  if (title) td.title = title;
  return td;
}

/** The budget use cell: a small meter and the percentage, or why there is none. */
function useCell(budget: BudgetUse | null): HTMLTableCellElement {
  const td = document.createElement('td');
  td.dataset.col = 'used_ratio';
  const wrap = document.createElement('div');
  wrap.className = 'use';
  const meter = document.createElement('div');
  meter.className = 'meter';
  meter.setAttribute('aria-hidden', 'true');
  const fill = document.createElement('div');
  fill.className = 'meter-fill';
  meter.append(fill);
  const text = document.createElement('span');
  text.className = 'use-text';
  const ratio = budget?.used_ratio ?? null;
  if (ratio === null) {
    text.textContent = budget === null ? 'no budget' : 'no limit';
    wrap.dataset.tone = 'none';
  } else {
    td.dataset.value = String(ratio);
    text.textContent = percent(ratio);
    fill.style.width = `${Math.min(100, ratio * 100).toFixed(1)}%`;
    wrap.dataset.tone = ratio >= 1 ? 'problem' : ratio >= softRatio ? 'warning' : 'none';
  }
  wrap.append(meter, text);
  td.append(wrap);
  return td;
}

function spenderRow(user: ReportUser, rank: number): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.key = user.user_id;
  tr.dataset.rank = String(rank);
  const th = document.createElement('th');
  th.scope = 'row';
  th.textContent = user.user_id;
  th.title = user.user_id;
  const limit = user.budget?.limit_usd ?? null;
  tr.append(
    th,
    cell('requests', user.requests, int(user.requests), `${int(user.errors)} failed upstream`),
    cell(
      'total_tokens',
      user.total_tokens,
      int(user.total_tokens),
      `${int(user.prompt_tokens)} prompt (${int(user.cached_prompt_tokens)} cached) · ` +
        `${int(user.completion_tokens)} completion (${int(user.reasoning_tokens)} reasoning)`,
    ),
    cell('estimated_cost_usd', user.estimated_cost_usd, usd(user.estimated_cost_usd)),
    cell(
      'limit_usd',
      limit,
      user.budget === null ? '–' : limit === null ? 'none' : `${usd(limit)}/day`,
      user.budget ? `${usd(user.budget.spent_usd)} spent today` : 'no spend budget is set for anyone',
    ),
    useCell(user.budget),
  );
  return tr;
}

/** Today's top spenders, in the server's order (most spent first); at most TOP_SPENDERS rows. */
export function renderSpenders(outcome: Outcome<UsersReport>): void {
  const box = byId('box-spenders');
  const body = byId<HTMLTableElement>('table-spenders').tBodies[0];
  if (!body) return;
  if (!outcome.ok) {
    setNote('note-spenders', describe(outcome.problem, 'ai-proxy'));
    // Never loaded: say what is unknown rather than show a calm empty table.
    if (body.childElementCount === 0) setEmpty(box, 'ai-proxy unreachable: top spenders unknown');
    return;
  }
  const report = outcome.data;
  const users = report.users.slice(0, TOP_SPENDERS);
  body.replaceChildren(...users.map((user, i) => spenderRow(user, i + 1)));
  setEmpty(box, users.length === 0 ? 'No AI spend today' : undefined);
  setText('spenders-legend', `by cost · since ${sinceText(new Date(report.since))}`);
  setNote('note-spenders', '', 'none');
}

/**
 * The share of the calendar month gone: the month ends at the budget's reset (local midnight in
 * BUDGET_TIMEZONE) and began its number of days before. NOTE: a month with a daylight-saving change
 * began an hour off that (under 0.2 % of the month); the page does not know the zone to correct it.
 */
export function monthElapsed(month: string, resetsAt: string, nowMs = Date.now()): number {
  const [year, mon] = month.split('-').map(Number) as [number, number];
  const days = new Date(Date.UTC(year, mon, 0)).getUTCDate();
  const endMs = Date.parse(resetsAt);
  const startMs = endMs - days * DAY_MS;
  return Math.min(1, Math.max(0, (nowMs - startMs) / (endMs - startMs)));
}

/** The deployment's monthly budget: spent (and held) of the limit, next to the month's share gone. */
export function renderBudget(budget: Budget | undefined, month: string): void {
  const panel = byId('panel-budget');
  const elapsed = budget ? monthElapsed(month, budget.resets_at) : null;
  setText('month-elapsed', elapsed === null ? '–' : percent(elapsed), elapsed);
  byId('month-fill').style.width = elapsed === null ? '0' : `${(elapsed * 100).toFixed(1)}%`;
  setText('budget-legend', month);
  if (!budget) {
    setText('budget-spent', '–');
    setText('budget-limit', 'no monthly budget');
    return;
  }
  const resets = new Date(budget.resets_at);
  setText('budget-spent', usd(budget.spent_usd), budget.spent_usd);
  const day = resets.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });
  const time = resets.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
  setText('budget-reset', `resets ${day} ${time} (your time)`);
  const limit = budget.limit_usd;
  if (limit === null) {
    setText('budget-limit', 'no monthly budget', null);
    setText('budget-used', '—', null);
    byId('budget-fill').style.width = '0';
    setText('budget-pace', 'set AI_BUDGET_USD_PER_MONTH to cap the month');
    panel.dataset.tone = 'none';
    return;
  }
  const used = (budget.spent_usd + budget.held_usd) / limit;
  setText('budget-limit', `of ${usd(limit)}`, limit);
  setText('budget-used', percent(used), used);
  byId('budget-fill').style.width = `${Math.min(100, used * 100).toFixed(1)}%`;
  // At this month's pace so far, where the month ends (spend over the share of the month gone).
  const pace = elapsed !== null && elapsed > 0 ? budget.spent_usd / elapsed : null;
  const held = budget.held_usd > 0 ? ` · ${usd(budget.held_usd)} held` : '';
  setText(
    'budget-pace',
    pace === null ? `just begun${held}` : `on pace for ${usd(pace)}, ${percent(pace / limit)} of the budget${held}`,
    pace,
  );
  panel.dataset.tone = used >= 1 ? 'problem' : elapsed !== null && used > elapsed ? 'warning' : 'none';
}

/**
 * Cost per active user this month and its projection; `—` with no active user yet. The projections
 * move with the clock (this month's cost over the share of it gone), so they are not `data-field`s.
 */
export function renderPerUser(perUser: PerActiveUser): void {
  const show = (id: string, value: number | null) => setText(id, value === null ? '—' : usd(value), value);
  show('per-user-cost', perUser.cost_per_active_user_usd);
  show('per-user-projected', perUser.projected_cost_per_active_user_usd);
  show('per-user-projected-month', perUser.projected_month_cost_usd);
  setText('per-user-legend', perUser.month);
}

/** The two usage panels when the usage call failed: the last data stays, dimmed, under the note. */
export function usageDown(text: string): void {
  setNote('note-budget', text);
  setNote('note-per-user', text);
}

/** The two usage panels' notes, cleared (or the empty state) after a good answer. */
export function usageUp(activeUsers: number): void {
  setNote('note-budget', '', 'none');
  setNote('note-per-user', activeUsers === 0 ? 'No AI calls this month yet' : '', 'empty');
}
