import { parseArgs } from 'node:util';
import { parseBaseUrl, UsageError } from '../monitor/options';
import { usdToTicks } from './invoice';

export const RECONCILE_USAGE = `usage: pnpm reconcile (--file F | --loki URL) [--from ISO] [--to ISO] [--json] [--write]
                      [--redis URL | --api URL] [--invoice CSV]

Rebuilds the usage counters (total, per user, per model, per operation) from the AI usage records
(record_type ai_usage) and compares them with the store.

  --file F          JSON lines: production logs, \`docker compose logs\` output, or an export of
                    Loki entries (logcli --output=jsonl); - reads stdin
  --loki URL        Loki's query API (e.g. http://127.0.0.1:3100), read page by page
  --query LOGQL     the Loki stream selector (default {record_type="ai_usage"})
  --loki-org-id ID  X-Scope-OrgID for a multi-tenant Loki
  --page-size N     entries per Loki request (default 5000, Loki's max_entries_limit_per_query)
  --from, --to      the period (ISO-8601; default: the whole file, or the last 366 days from Loki;
                    --to defaults to now). The store's counters run from its first call: compare a
                    period that starts before it
  --grace SECONDS   differences no larger than what the period's last seconds add are calls still
                    in flight: reported, exit 0 (default 10)
  --redis URL       the store (default $REDIS_URL), keys under --prefix (default $REDIS_KEY_PREFIX
                    or flashcase:)
  --api URL         compare with GET /api/v1/ai/usage of a gateway or ai-proxy instead (totals, per
                    model and operation; read-only), with --token or $FLASHCASE_TOKEN (admin JWT)
  --write           after the comparison, write the differences into the store (--redis), so it
                    holds what the records say; a second run finds nothing to write
  --invoice CSV     also compare with a provider invoice export (date, model, tokens, cost per row)
                    per day and model; --invoice-tolerance-usd (default 0.01) per row for rounding;
                    days in --timezone (default $BUDGET_TIMEZONE or UTC)
  --json            one JSON document instead of the tables

exit codes: 0 the store matches (or differs only by calls in flight), 1 it differs (or the invoice
does), 2 bad arguments, 3 the store or Loki could not be read`;

/** `pnpm reconcile`'s settings, parsed once at start-up. */
export interface ReconcileOptions {
  readonly source:
    | { kind: 'file'; path: string }
    | { kind: 'loki'; url: string; query: string; pageSize: number; orgId?: string };
  readonly fromMs: number | undefined;
  readonly toMs: number;
  readonly graceMs: number;
  readonly store: { kind: 'redis'; url: string; prefix: string } | { kind: 'api'; url: string; token: string };
  readonly write: boolean;
  readonly invoice: { path: string; toleranceTicks: number; timeZone: string } | undefined;
  readonly json: boolean;
  readonly help: boolean;
  /** A progress bar on stderr (a terminal, no --json). */
  readonly progress: boolean;
}

function time(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const ms = Date.parse(raw);
  if (!Number.isFinite(ms)) throw new UsageError(`--${name} must be an ISO-8601 time, got "${raw}"`);
  return ms;
}

function pageSize(raw: string | undefined): number {
  const n = raw === undefined ? 5000 : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
    throw new UsageError(`--page-size must be an integer between 1 and 100000, got "${raw}"`);
  }
  return n;
}

function redisUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, got "${raw}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, got "${raw}"`);
  }
  return raw;
}

/**
 * Parses `pnpm reconcile`'s arguments (a leading `--` is ignored) with defaults from `env`
 * (REDIS_URL, REDIS_KEY_PREFIX, FLASHCASE_TOKEN, BUDGET_TIMEZONE). UsageError names the bad option.
 */
export function parseReconcileArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  isTTY = false,
  now = Date.now(),
): ReconcileOptions {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(args).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const help = values.help === true;
  const placeholder = { kind: 'file', path: '' } as const;
  if (help) {
    return {
      source: placeholder,
      fromMs: undefined,
      toMs: now,
      graceMs: 0,
      store: { kind: 'redis', url: '', prefix: '' },
      write: false,
      invoice: undefined,
      json: false,
      help,
      progress: false,
    };
  }
  if ((values.file === undefined) === (values.loki === undefined)) {
    throw new UsageError('give exactly one of --file F or --loki URL');
  }
  const source: ReconcileOptions['source'] =
    values.file !== undefined
      ? { kind: 'file', path: values.file }
      : {
          kind: 'loki',
          url: parseBaseUrl(values.loki as string),
          query: values.query ?? '{record_type="ai_usage"}',
          pageSize: pageSize(values['page-size']),
          ...(values['loki-org-id'] ? { orgId: values['loki-org-id'] } : {}),
        };
  const toMs = time(values.to, 'to') ?? now;
  let fromMs = time(values.from, 'from');
  if (fromMs === undefined && source.kind === 'loki') fromMs = toMs - 366 * 86_400_000;
  if (fromMs !== undefined && fromMs >= toMs) throw new UsageError('--from must be before --to');
  const grace = values.grace === undefined ? 10 : Number(values.grace);
  if (!Number.isFinite(grace) || grace < 0 || grace > 3600) {
    throw new UsageError(`--grace must be seconds between 0 and 3600, got "${values.grace}"`);
  }
  if (values.api !== undefined && values.redis !== undefined) throw new UsageError('give --redis or --api, not both');
  let store: ReconcileOptions['store'];
  if (values.api !== undefined) {
    const token = (values.token ?? env.FLASHCASE_TOKEN ?? '').trim().replace(/^Bearer\s+/i, '');
    if (!token) throw new UsageError('--api needs an admin token: pass --token or set FLASHCASE_TOKEN');
    if (values.write) throw new UsageError('--write needs --redis: the usage API is read-only');
    store = { kind: 'api', url: parseBaseUrl(values.api), token };
  } else {
    const url = values.redis ?? env.REDIS_URL;
    if (!url) throw new UsageError('no store: pass --redis URL (or set REDIS_URL), or --api URL');
    store = { kind: 'redis', url: redisUrl(url), prefix: values.prefix ?? env.REDIS_KEY_PREFIX ?? 'flashcase:' };
  }
  let invoice: ReconcileOptions['invoice'];
  if (values.invoice !== undefined) {
    let toleranceTicks: number;
    try {
      toleranceTicks = usdToTicks(values['invoice-tolerance-usd'] ?? '0.01');
    } catch {
      throw new UsageError(`--invoice-tolerance-usd must be a USD amount, got "${values['invoice-tolerance-usd']}"`);
    }
    const timeZone = values.timezone ?? env.BUDGET_TIMEZONE ?? 'UTC';
    try {
      new Intl.DateTimeFormat('en-CA', { timeZone });
    } catch {
      throw new UsageError(`--timezone must be an IANA time zone, got "${timeZone}"`);
    }
    invoice = { path: values.invoice, toleranceTicks, timeZone };
  }
  const json = values.json === true;
  return {
    source,
    fromMs,
    toMs,
    graceMs: grace * 1000,
    store,
    write: values.write === true,
    invoice,
    json,
    help,
    progress: isTTY && !json,
  };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      file: { type: 'string' },
      loki: { type: 'string' },
      query: { type: 'string' },
      'loki-org-id': { type: 'string' },
      'page-size': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      grace: { type: 'string' },
      redis: { type: 'string' },
      prefix: { type: 'string' },
      api: { type: 'string' },
      token: { type: 'string' },
      write: { type: 'boolean' },
      invoice: { type: 'string' },
      'invoice-tolerance-usd': { type: 'string' },
      timezone: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}
