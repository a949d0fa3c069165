// Puts answers on the page: figures, tables, alerts and the one-line notes under each panel.
// Everything is written with textContent and DOM nodes (no HTML strings), and every box keeps its
// size whatever the data, so nothing on the page moves while it updates.

import type { Alert, Counters, Problem, Usage } from './api';
import { int, share, usd } from './format';

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`dashboard markup has no #${id}`);
  return el as T;
}

function resolve(source: unknown, path: string): unknown {
  let value: unknown = source;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function formatAs(format: string | undefined, value: number): string {
  return format === 'usd' ? usd(value) : int(value);
}

/** Fills every `[data-field]` (a path into the usage answer) with its number; `data-value` keeps it raw. */
export function fillFields(usage: Usage): void {
  for (const el of document.querySelectorAll<HTMLElement>('[data-field]')) {
    const value = resolve(usage, el.dataset.field ?? '');
    if (typeof value !== 'number') continue;
    el.textContent = formatAs(el.dataset.format, value);
    el.dataset.value = String(value);
  }
}

/** Sets a figure's text; `value` goes to `data-value`, `null` removes it (a figure with no number, `—`). */
export function setText(id: string, text: string, value?: number | null): void {
  const el = byId(id);
  el.textContent = text;
  if (value === null) delete el.dataset.value;
  else if (value !== undefined) el.dataset.value = String(value);
}

/** The note line under a panel: a problem (red), an empty state (muted) or nothing. */
export function setNote(
  id: string,
  text: string,
  tone: 'problem' | 'empty' | 'none' = text ? 'problem' : 'none',
): void {
  const el = byId(id);
  el.textContent = text;
  el.dataset.tone = tone;
  el.title = text;
  el.closest('.panel')?.classList.toggle('stale', tone === 'problem');
}

/** Marks a chart box empty (an overlay text, the axes stay). */
export function setEmpty(el: HTMLElement, text: string | undefined): void {
  if (text) el.dataset.empty = text;
  else delete el.dataset.empty;
}

/** What a failed call means, in one line for a panel. */
export function describe(problem: Problem, service: string): string {
  switch (problem.kind) {
    case 'unreachable':
      return 'Gateway unreachable: showing the last data, retrying';
    case 'unavailable':
      return `${service} unavailable (${problem.status} ${problem.code}): showing the last data`;
    case 'auth':
    case 'forbidden':
      return `${service} refused the call (${problem.status} ${problem.code})`;
    default:
      return `${service} answered ${problem.status} ${problem.code}: ${problem.message}`;
  }
}

interface Column {
  key: keyof Counters;
  /** Hidden on narrower screens (styles.css), where the totals and the shares stay. */
  split?: boolean;
  text(counters: Counters): string;
  title?(counters: Counters): string;
}

/** In the order of the header cells in index.html: each part right after the count it is part of. */
const COLUMNS: Column[] = [
  { key: 'requests', text: (c) => int(c.requests) },
  { key: 'prompt_tokens', split: true, text: (c) => int(c.prompt_tokens) },
  {
    key: 'cached_prompt_tokens',
    text: (c) => share(c.cached_prompt_tokens, c.prompt_tokens),
    title: (c) => `${int(c.cached_prompt_tokens)} of ${int(c.prompt_tokens)} prompt tokens from the prompt cache`,
  },
  { key: 'completion_tokens', split: true, text: (c) => int(c.completion_tokens) },
  { key: 'reasoning_tokens', text: (c) => int(c.reasoning_tokens) },
  { key: 'total_tokens', text: (c) => int(c.total_tokens) },
  { key: 'estimated_cost_usd', text: (c) => usd(c.estimated_cost_usd) },
];

/**
 * One row per name, sorted by name (rows never reorder as counts change). Every cell keeps its
 * counter in `data-value`; the cached cell shows the share of the prompt tokens (`—` with none).
 */
export function fillTable(tableId: string, noteId: string, groups: Record<string, Counters>, empty: string): void {
  const table = byId<HTMLTableElement>(tableId);
  const body = table.tBodies[0];
  if (!body) return;
  const names = Object.keys(groups).sort();
  const rows = names.map((name) => {
    const counters = groups[name] as Counters;
    const tr = document.createElement('tr');
    tr.dataset.key = name;
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = name;
    th.title = name;
    tr.append(th);
    for (const column of COLUMNS) {
      const td = document.createElement('td');
      td.dataset.col = column.key;
      if (column.split) td.className = 'split';
      td.dataset.value = String(counters[column.key]);
      td.textContent = column.text(counters);
      if (column.title) td.title = column.title(counters);
      tr.append(td);
    }
    return tr;
  });
  body.replaceChildren(...rows);
  setNote(noteId, '', 'none');
  const box = table.closest<HTMLElement>('.scroll');
  if (box) setEmpty(box, names.length === 0 ? empty : undefined);
}

const STATE_ORDER: Record<string, number> = { firing: 0, pending: 1, resolved: 2 };
const SEVERITY_ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };

function since(iso: string | null): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (!Number.isFinite(s)) return '';
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

function valueText(alert: Alert): string {
  if (typeof alert.value !== 'number') return '';
  const fmt = (n: number) => (Number.isInteger(n) ? int(n) : String(+n.toFixed(4)));
  return typeof alert.threshold === 'number' ? `${fmt(alert.value)} / ${fmt(alert.threshold)}` : fmt(alert.value);
}

/** Firing first, then pending, then recently resolved; critical before warning. */
export function fillAlerts(alerts: Alert[]): void {
  const list = byId('alerts');
  const sorted = [...alerts].sort(
    (a, b) =>
      (STATE_ORDER[a.state] ?? 3) - (STATE_ORDER[b.state] ?? 3) ||
      (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3) ||
      a.name.localeCompare(b.name),
  );
  list.replaceChildren(
    ...sorted.map((alert) => {
      const li = document.createElement('li');
      li.dataset.state = alert.state;
      li.dataset.severity = alert.severity;
      li.dataset.name = alert.name;
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = alert.severity;
      const name = document.createElement('strong');
      name.textContent = alert.name;
      name.title = alert.name;
      const state = document.createElement('span');
      state.className = 'state';
      state.textContent = `${alert.state} ${since(alert.state === 'resolved' ? alert.resolved_at : alert.started_at)}`;
      const value = document.createElement('span');
      value.className = 'alert-value';
      value.textContent = valueText(alert);
      const summary = document.createElement('p');
      summary.className = 'summary';
      summary.textContent = alert.summary;
      summary.title = alert.summary;
      li.append(badge, name, state, value, summary);
      return li;
    }),
  );
  const firing = alerts.filter((a) => a.state === 'firing').length;
  const pending = alerts.filter((a) => a.state === 'pending').length;
  setText('alerts-count', `${firing} firing · ${pending} pending`, firing);
  byId('alerts-count').dataset.tone = firing > 0 ? 'problem' : 'none';
  setNote('note-alerts', '', 'none');
  setEmpty(byId('alerts-box'), alerts.length === 0 ? 'No alerts firing, pending or recently resolved' : undefined);
}
