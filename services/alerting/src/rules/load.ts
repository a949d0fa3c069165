import { readFileSync } from 'node:fs';
import type { Config } from '@flashcase/config';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { type AlertRule, GATEWAY_SIGNALS, PER_SERVICE_SIGNALS, SIGNALS, type WatchedService } from './alert-rule';
import { runbookUrl, seedRules } from './seed';

/** A rules file that cannot be used: the message names the file, the rule and the field. */
export class RulesError extends Error {
  override readonly name = 'RulesError';
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const UNIT_S: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };

/** `0`, `30` (seconds), `30s`, `5m`, `1h`, `1.5h`, `500ms` -> seconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = DURATION.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_S[match[2] ?? 's'] ?? 1);
}

const duration = z.union([z.number(), z.string()]).transform((value, context) => {
  const seconds = parseDuration(value);
  if (seconds === undefined) {
    context.issues.push({ code: 'custom', input: value, message: 'must be a duration like 0, 30s, 5m or 1h' });
    return z.NEVER;
  }
  return seconds;
});

const labelName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const services = ['gateway', 'ai-proxy', 'alerting'] as const;

const ruleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be a word of letters, digits and _'),
    severity: z.enum(['critical', 'warning']),
    signal: z.enum(SIGNALS),
    comparison: z.enum(['>', '>=']).default('>'),
    threshold: z.number().finite().nonnegative(),
    resolve_threshold: z.number().finite().nonnegative().optional(),
    for: duration.default(0),
    window: duration.optional(),
    min_requests: z.number().int().nonnegative().default(20),
    services: z.array(z.enum(services)).nonempty().optional(),
    labels: z
      .record(z.string().regex(labelName, 'label names are words of letters, digits and _'), z.string())
      .default({}),
    summary: z.string().min(1).max(500),
    runbook_url: z.string().min(1).optional(),
  })
  .strict();

const fileSchema = z.object({ rules: z.array(ruleSchema).nonempty() }).strict();

function defaultServices(signal: AlertRule['signal']): WatchedService[] {
  return signal === 'service_memory_utilization' ? [...services] : ['gateway', 'ai-proxy'];
}

/**
 * Parses a YAML rules document (see the README's "Alert rules" for the format).
 *
 * Edge cases: an unknown field is an error (a typo never silently does nothing); names must be
 * unique; `resolve_threshold` defaults to 90 % of `threshold` and must be below it; `window`
 * (gateway signals, default 5m) must be whole minutes between 1m and 24h; `min_requests` (default
 * 20) gates the gateway signals by requests in the window and `ai_pricing_drift` by billed calls in
 * the last 24 h (other signals ignore it); `services` applies to the per-service signals only
 * (ServiceDown cannot watch `alerting` itself).
 *
 * @throws {RulesError} naming the rule and the field.
 */
export function parseRules(text: string, source = 'rules'): AlertRule[] {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    throw new RulesError(`${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    let where = path.join('.');
    if (path[0] === 'rules' && typeof path[1] === 'number') {
      const raw = (document as { rules?: Array<{ name?: unknown }> }).rules?.[path[1]];
      const name = typeof raw?.name === 'string' ? ` (${raw.name})` : '';
      where = `rules[${path[1]}]${name}${path.length > 2 ? `.${path.slice(2).join('.')}` : ''}`;
    }
    throw new RulesError(`${source}: ${where || 'document'} ${issue?.message ?? 'is invalid'}`);
  }
  const seen = new Set<string>();
  return parsed.data.rules.map((raw, index) => {
    const where = `${source}: rules[${index}] (${raw.name})`;
    if (seen.has(raw.name)) throw new RulesError(`${where}.name is used by an earlier rule`);
    seen.add(raw.name);
    const resolveThreshold = raw.resolve_threshold ?? raw.threshold * 0.9;
    if (!(resolveThreshold < raw.threshold)) {
      throw new RulesError(`${where}.resolve_threshold must be below threshold (${raw.threshold})`);
    }
    const windowS = raw.window ?? 300;
    if (!GATEWAY_SIGNALS.has(raw.signal) && raw.window !== undefined) {
      throw new RulesError(`${where}.window applies only to the gateway_* signals`);
    }
    if (!Number.isInteger(windowS / 60) || windowS < 60 || windowS > 86_400) {
      throw new RulesError(`${where}.window must be whole minutes between 1m and 24h`);
    }
    if (!PER_SERVICE_SIGNALS.has(raw.signal) && raw.services !== undefined) {
      throw new RulesError(`${where}.services applies only to the service_* signals`);
    }
    if (raw.signal === 'service_health_failures' && raw.services?.includes('alerting')) {
      throw new RulesError(`${where}.services: alerting cannot watch its own health checks`);
    }
    return {
      name: raw.name,
      severity: raw.severity,
      signal: raw.signal,
      comparison: raw.comparison,
      threshold: raw.threshold,
      resolveThreshold,
      forS: raw.for,
      windowS,
      minRequests: raw.min_requests,
      services: PER_SERVICE_SIGNALS.has(raw.signal) ? (raw.services ?? defaultServices(raw.signal)) : [],
      labels: raw.labels,
      summary: raw.summary,
      runbookUrl: raw.runbook_url ?? runbookUrl(raw.name),
    } satisfies AlertRule;
  });
}

/** The rules the service runs: ALERT_RULES_FILE when set, else the seed's eleven. */
export function loadRules(config: Pick<Config, 'tokens' | 'alerts' | 'budgets'>): AlertRule[] {
  const file = config.alerts.rulesFile;
  if (file === undefined) return seedRules(config);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RulesError(`ALERT_RULES_FILE ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return parseRules(text, `ALERT_RULES_FILE ${file}`);
}
