// The live dashboard: asks for an admin token once (sessionStorage), then polls the usage,
// timeseries, alerts, gateway stats and top-spenders endpoints every few seconds and draws them.

import 'uplot/dist/uPlot.min.css';
import '../styles.css';
import {
  type Outcome,
  type PricingWindow,
  type Problem,
  poll,
  type Snapshot,
  type Stats,
  type Timeseries,
  type Usage,
} from './api';
import { type Chart, COLORS, gauge, histogram, timeChart } from './charts';
import { bucketLabel, clock, int, percent, seconds, share, signedPercent, sinceText, usd } from './format';
import { forgetToken, savedToken, saveToken, secondsLeft } from './session';
import { renderBudget, renderPerUser, renderSpenders, setSoftRatio, usageDown, usageUp } from './spend';
import { byId, describe, fillAlerts, fillFields, fillTable, setEmpty, setNote, setText } from './views';

/** Every 5 s, or `?refresh=N` seconds (1 to 60) for a faster or a calmer page. */
const POLL_MS = (() => {
  const asked = Number(new URLSearchParams(location.search).get('refresh'));
  return Number.isInteger(asked) && asked >= 1 && asked <= 60 ? asked * 1000 : 5_000;
})();
/** Samples of the 5-minute 429 count kept for its chart (10 minutes at one poll every 5 s). */
const LIMITED_SAMPLES = 120;
/**
 * When the pricing check is highlighted: the default PricingTableDrift rule (services/alerting's
 * seed), |drift| above 5 % over 24 h with at least 20 billed calls. A rules file can move the
 * alert's own threshold; the alerts panel shows what actually fires.
 */
const DRIFT_LIMIT = 0.05;
const DRIFT_MIN_CALLS = 20;

interface Charts {
  tokens: Chart;
  requests: Chart;
  errors: Chart;
  latency: ReturnType<typeof histogram>;
  limited: Chart;
  cost: ReturnType<typeof gauge>;
}

let token: string | undefined;
let charts: Charts | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
/** Bumped on sign-out so an answer still in flight is dropped. */
let session = 0;
let polls = 0;
const limitedHistory: { x: number[]; y: number[] } = { x: [], y: [] };

function createCharts(): Charts {
  return {
    // Stacked bars, each drawn over the one before: prompt + completion (its top part is the
    // reasoning, which completion includes), then prompt + visible completion, then prompt.
    tokens: timeChart(byId('chart-tokens'), {
      series: [
        { label: 'prompt + completion', color: COLORS.reasoning },
        { label: 'prompt + visible completion', color: COLORS.completion },
        { label: 'prompt', color: COLORS.prompt },
      ],
      bars: true,
    }),
    requests: timeChart(byId('chart-requests'), {
      series: [{ label: 'requests', color: COLORS.requests }],
      bars: true,
    }),
    errors: timeChart(byId('chart-errors'), {
      series: [{ label: 'error %', color: COLORS.errors }],
      bars: true,
      format: (v) => `${+v.toFixed(1)}%`,
      minTop: 5,
    }),
    latency: histogram(byId('chart-latency'), COLORS.latency),
    limited: timeChart(byId('chart-limited'), {
      series: [{ label: '429s in 5 min', color: COLORS.limited, fill: true }],
      windowS: (LIMITED_SAMPLES * POLL_MS) / 1000,
      points: true,
    }),
    cost: gauge(byId('chart-cost'), byId<HTMLCanvasElement>('gauge')),
  };
}

function setState(state: 'login' | 'loading' | 'live' | 'partial' | 'offline', status: string): void {
  document.body.dataset.state = state;
  const el = byId('status');
  el.textContent = status;
  el.dataset.tone = state;
}

function stop(): void {
  session++;
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
}

function showLogin(message = ''): void {
  stop();
  token = undefined;
  forgetToken();
  byId('board').hidden = true;
  byId('signout').hidden = true;
  byId('login').hidden = false;
  setText('login-message', message);
  byId('login-message').hidden = message === '';
  setState('login', 'Signed out');
  const input = byId<HTMLInputElement>('token');
  input.value = '';
  input.focus();
}

function start(next: string): void {
  stop();
  token = next;
  saveToken(next);
  byId('login').hidden = true;
  byId('board').hidden = false;
  byId('signout').hidden = false;
  charts ??= createCharts();
  setState('loading', 'Loading…');
  void tick(session);
}

function authMessage(problem: Problem): string {
  if (problem.kind === 'forbidden') {
    return 'This token is not an admin token: the dashboard needs role admin. Paste an admin token.';
  }
  if (/expired/i.test(problem.message)) return 'Your admin token has expired. Paste a new one to go on.';
  return `The gateway refused this token (${problem.message}). Paste a valid admin token.`;
}

async function tick(current: number): Promise<void> {
  if (!token) return;
  const snapshot = await poll(token);
  if (current !== session) return;
  // The stats endpoint is answered by the gateway itself: its 401/403 is the verdict on the token.
  const verdict = !snapshot.stats.ok ? snapshot.stats.problem : undefined;
  if (verdict && (verdict.kind === 'auth' || verdict.kind === 'forbidden')) {
    showLogin(authMessage(verdict));
    return;
  }
  render(snapshot);
  polls++;
  document.body.dataset.polls = String(polls);
  timer = setTimeout(() => void tick(current), POLL_MS);
}

function render(snapshot: Snapshot): void {
  renderUsage(snapshot.usage);
  renderSeries(snapshot.series);
  renderStats(snapshot.stats);
  renderSpenders(snapshot.spenders);
  if (snapshot.alerts.ok) fillAlerts(snapshot.alerts.data.alerts ?? []);
  else {
    setNote('note-alerts', describe(snapshot.alerts.problem, 'Alerting'));
    // Never loaded (or the list was empty): say what is unknown rather than show a calm empty box.
    if (byId('alerts').childElementCount === 0) {
      setEmpty(byId('alerts-box'), 'Alerting service unreachable: alerts unknown');
      setText('alerts-count', 'unknown');
    }
  }
  renderStatus(snapshot);
}

function renderStatus(snapshot: Snapshot): void {
  const calls: [string, Outcome<unknown>][] = [
    ['usage', snapshot.usage],
    ['timeseries', snapshot.series],
    ['alerts', snapshot.alerts],
    ['stats', snapshot.stats],
    ['top spenders', snapshot.spenders],
  ];
  const failed = calls.filter(([, outcome]) => !outcome.ok);
  const now = clock(new Date());
  const left = token ? secondsLeft(token) : undefined;
  const expiry =
    left !== undefined && left < 600 ? ` · token expires in ${Math.max(0, Math.round(left / 60))} min` : '';
  if (failed.length === calls.length && failed.every(([, o]) => !o.ok && o.problem.kind === 'unreachable')) {
    setState('offline', `Gateway unreachable at ${now}: retrying every ${POLL_MS / 1000} s`);
  } else if (failed.length > 0) {
    const what = failed.map(([name, o]) => `${name} (${o.ok ? '' : o.problem.status || 'no answer'})`).join(', ');
    setState('partial', `Updated ${now} · every ${POLL_MS / 1000} s · unavailable: ${what}${expiry}`);
  } else {
    setState('live', `Live · updated ${now} · every ${POLL_MS / 1000} s${expiry}`);
  }
}

function renderUsage(outcome: Outcome<Usage>): void {
  if (!charts) return;
  if (!outcome.ok) {
    const text = describe(outcome.problem, 'ai-proxy');
    for (const id of ['note-cost', 'note-operation', 'note-model']) setNote(id, text);
    usageDown(text);
    return;
  }
  const usage = outcome.data;
  fillFields(usage);
  renderBudget(
    usage.budgets.find((b) => b.budget === 'monthly_usd'),
    usage.per_active_user.month,
  );
  renderPerUser(usage.per_active_user);
  setSoftRatio(usage.budget_soft_ratio);
  usageUp(usage.per_active_user.active_users);
  const fraction = usage.alert_threshold > 0 ? usage.last_hour.total_tokens / usage.alert_threshold : 0;
  byId('threshold-fill').style.width = `${Math.min(100, fraction * 100).toFixed(1)}%`;
  byId('kpi-hour').dataset.tone = usage.alert_triggered ? 'problem' : fraction >= 0.5 ? 'warning' : 'none';
  setText(
    'threshold-text',
    usage.alert_triggered
      ? `ALERT: over the ${int(usage.alert_threshold)} threshold`
      : `${percent(fraction)} of ${int(usage.alert_threshold)} (alert)`,
  );
  setText('since-text', usage.since ? `since ${sinceText(new Date(usage.since))}` : 'nothing spent yet');

  // Gauge: the last hour's spend against what an hour at the alert threshold would cost.
  const perToken =
    usage.last_hour.total_tokens > 0
      ? usage.last_hour.estimated_cost_usd / usage.last_hour.total_tokens
      : usage.usage.total_tokens > 0
        ? usage.estimated_cost_usd / usage.usage.total_tokens
        : 0;
  const max = perToken * usage.alert_threshold;
  charts.cost.update(usage.last_hour.estimated_cost_usd, max, 0.5, `${usd(usage.last_hour.estimated_cost_usd)}/h`);
  setText('gauge-max', max > 0 ? `${usd(max)}/h` : '–', max);
  setNote('note-cost', usage.last_hour.requests === 0 ? 'No AI spend in the last hour' : '', 'empty');

  renderTokenMix(usage);
  renderPricing(usage.pricing_check.last_24h);

  fillTable('table-operation', 'note-operation', usage.by_operation, 'No AI requests recorded yet');
  fillTable('table-model', 'note-model', usage.by_model, 'No AI requests recorded yet');
}

/** Reasoning tokens as a share of the output they are part of; cached tokens as a share of the prompt. */
function renderTokenMix(usage: Usage): void {
  const totals = usage.usage;
  setText(
    'reasoning-share',
    totals.total_completion_tokens > 0
      ? `${percent(totals.total_reasoning_tokens / totals.total_completion_tokens)} of output`
      : 'no output yet',
  );
  const cached = totals.total_prompt_tokens > 0 ? totals.total_cached_prompt_tokens / totals.total_prompt_tokens : null;
  setText('cached-share', share(totals.total_cached_prompt_tokens, totals.total_prompt_tokens), cached);
  const hour = usage.last_hour;
  setText(
    'cached-share-hour',
    share(hour.cached_prompt_tokens, hour.prompt_tokens),
    hour.prompt_tokens > 0 ? hour.cached_prompt_tokens / hour.prompt_tokens : null,
  );
}

/** The pricing check over 24 h: our table against the provider's bill, warned about as the alert would. */
function renderPricing(check: PricingWindow): void {
  const billed = check.calls_billed > 0;
  setText('pricing-drift', billed ? signedPercent(check.drift_ratio) : '—', billed ? check.drift_ratio : null);
  setText(
    'pricing-calls',
    billed ? `${int(check.calls_billed)} billed call${check.calls_billed === 1 ? '' : 's'}` : 'no billed calls',
    check.calls_billed,
  );
  const drifting = check.calls_billed >= DRIFT_MIN_CALLS && Math.abs(check.drift_ratio) > DRIFT_LIMIT;
  byId('kpi-pricing').dataset.tone = drifting ? 'warning' : 'none';
}

function renderSeries(outcome: Outcome<Timeseries>): void {
  if (!charts) return;
  const notes = ['note-tokens', 'note-requests', 'note-errors'];
  if (!outcome.ok) {
    const text = describe(outcome.problem, 'ai-proxy');
    for (const id of notes) setNote(id, text);
    return;
  }
  const points = outcome.data.points;
  const xs = points.map((p) => Date.parse(p.timestamp) / 1000);
  charts.tokens.update(xs, [
    points.map((p) => p.prompt_tokens + p.completion_tokens),
    points.map((p) => p.prompt_tokens + p.completion_tokens - p.reasoning_tokens),
    points.map((p) => p.prompt_tokens),
  ]);
  charts.requests.update(xs, [points.map((p) => p.requests)]);
  charts.errors.update(xs, [points.map((p) => (p.requests > 0 ? (p.errors / p.requests) * 100 : null))]);
  const idle = points.every((p) => p.requests === 0);
  const empty = idle ? 'No AI requests in the last hour (try pnpm loadgen)' : undefined;
  for (const id of ['chart-tokens', 'chart-requests', 'chart-errors']) setEmpty(byId(id), empty);
  const sum = (field: 'errors' | 'requests' | 'reasoning_tokens' | 'prompt_tokens' | 'cached_prompt_tokens') =>
    points.reduce((total, p) => total + p[field], 0);
  const errors = sum('errors');
  const requests = sum('requests');
  setNote(
    'note-tokens',
    idle
      ? ''
      : `${int(sum('reasoning_tokens'))} reasoning · ${share(sum('cached_prompt_tokens'), sum('prompt_tokens'))} of prompt cached, last hour`,
    'empty',
  );
  setNote('note-requests', idle ? '' : `${int(requests)} in the last hour`, 'empty');
  setNote('note-errors', idle ? '' : `${int(errors)} failed of ${int(requests)} in the last hour`, 'empty');
}

function renderStats(outcome: Outcome<Stats>): void {
  if (!charts) return;
  if (!outcome.ok) {
    const text = describe(outcome.problem, 'Gateway stats');
    for (const id of ['note-latency', 'note-limited']) setNote(id, text);
    return;
  }
  const stats = outcome.data;
  setText('error-rate', percent(stats.error_rate), stats.error_rate);
  byId('kpi-errors').dataset.tone = stats.error_rate > 0.05 ? 'problem' : stats.error_rate > 0.02 ? 'warning' : 'none';
  setText('error-text', `${int(stats.status_5xx)} 5xx · ${int(stats.status_4xx)} 4xx of ${int(stats.requests)}`);
  setText('latency-p95', seconds(stats.latency_p95_s), stats.latency_p95_s ?? undefined);
  setText('latency-text', `p50 ${seconds(stats.latency_p50_s)} · p99 ${seconds(stats.latency_p99_s)}`);

  const limited = stats.rate_limited ?? 0;
  setText('rate-limited', int(limited), limited);
  byId('kpi-limited').dataset.tone = limited > 0 ? 'warning' : 'none';
  limitedHistory.x.push(Date.now() / 1000);
  limitedHistory.y.push(limited);
  if (limitedHistory.x.length > LIMITED_SAMPLES) {
    limitedHistory.x.shift();
    limitedHistory.y.shift();
  }
  charts.limited.update([...limitedHistory.x], [[...limitedHistory.y]]);
  setNote(
    'note-limited',
    stats.rate_limited === undefined
      ? 'This gateway does not report rate-limit rejections'
      : 'Cluster-wide, from the gateway; the line grows while this page is open',
    'empty',
  );

  const buckets = stats.latency_buckets;
  if (!buckets) {
    setNote('note-latency', 'This gateway reports quantiles only (no latency_buckets)', 'empty');
    return;
  }
  charts.latency.setLabels(
    buckets.map((b, i) => bucketLabel(b.le, i > 0 ? (buckets[i - 1]?.le as number) : undefined)),
  );
  charts.latency.update(
    buckets.map((_, i) => i),
    [buckets.map((b) => b.count)],
  );
  setEmpty(byId('chart-latency'), stats.requests === 0 ? 'No gateway requests in the last 5 minutes' : undefined);
  setNote('note-latency', `${int(stats.requests)} requests · p50 ${seconds(stats.latency_p50_s)}`, 'empty');
}

function boot(): void {
  byId<HTMLFormElement>('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = byId<HTMLInputElement>('token')
      .value.trim()
      .replace(/^Bearer\s+/i, '');
    if (value) start(value);
  });
  byId('signout').addEventListener('click', () => showLogin(''));
  const saved = savedToken();
  if (saved) start(saved);
  else showLogin('');
}

boot();
