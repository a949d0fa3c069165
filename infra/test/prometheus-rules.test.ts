import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { loadConfig } from '@flashcase/config';
import { describe, expect, it } from 'vitest';
import { readText, readYaml, repoPath } from './helpers/repo';
import { requireBinary } from './helpers/stack';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const PROMETHEUS_DIR = repoPath('infra/prometheus');
const ruleFiles = readdirSync(`${PROMETHEUS_DIR}/rules`).filter((file) => file.endsWith('.yml'));
const alerts = ruleFiles
  .flatMap((file) => readYaml<{ groups: Array<{ rules: Rule[] }> }>('infra/prometheus/rules', file).groups)
  .flatMap((group) => group.rules)
  .filter((rule) => rule.alert !== undefined);

function promtool(...args: string[]): string {
  requireBinary('promtool', 'prometheus');
  try {
    return execFileSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${failed.stdout ?? ''}${failed.stderr ?? ''}`);
  }
}

/** Prometheus durations (`1m30s`, `5m`, `30s`) in seconds. */
function seconds(duration = '0s'): number {
  let total = 0;
  for (const [, value, unit] of duration.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(value) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 }[unit as 'ms' | 's' | 'm' | 'h' | 'd'];
  }
  return total;
}

/**
 * The alerting service's default rules (services/alerting/src/rules/seed.ts: the seed's seven of
 * contract section 7, PricingTableDrift and the spend budgets' three): name, severity, `for` in
 * seconds, fire and resolve thresholds. ServiceDown counts failed checks there (3, `for` 0); here it
 * is three failed 15 s scrapes, `for: 30s`. UserBudgetNearlySpent is one alert per user, and user
 * ids never enter metric labels, so it has no Prometheus copy (`prometheus: false`). The budget
 * thresholds are AI_BUDGET_SOFT_RATIO's default (0.8, held at 95 % of it) and the whole limit.
 */
const SEED = [
  { name: 'HighTokenUsage', severity: 'critical', forS: 60, fire: 100000, resolve: 90000 },
  { name: 'HighErrorRate', severity: 'critical', forS: 120, fire: 0.05, resolve: 0.03 },
  { name: 'ServiceDown', severity: 'critical', forS: 30 },
  { name: 'HighResponseTime', severity: 'critical', forS: 120, fire: 5, resolve: 4 },
  { name: 'ElevatedTokenUsage', severity: 'warning', forS: 300, fire: 50000, resolve: 45000 },
  { name: 'IncreasedErrorRate', severity: 'warning', forS: 300, fire: 0.02, resolve: 0.01 },
  { name: 'HighMemoryUsage', severity: 'warning', forS: 300, fire: 0.8, resolve: 0.75 },
  { name: 'PricingTableDrift', severity: 'warning', forS: 900, fire: 0.05, resolve: 0.03 },
  { name: 'UserBudgetNearlySpent', severity: 'warning', forS: 0, fire: 0.8, resolve: 0.76, prometheus: false },
  { name: 'MonthlyBudgetNearlySpent', severity: 'warning', forS: 0, fire: 0.8, resolve: 0.76 },
  { name: 'MonthlyBudgetExhausted', severity: 'critical', forS: 0, fire: 1, resolve: 0.95 },
] as const;

/** The seed rules Prometheus has a copy of. */
const PROMETHEUS_SEED = SEED.filter((seed) => !('prometheus' in seed));

describe('Prometheus configuration', () => {
  it('passes promtool check config (with its rule files)', () => {
    expect(promtool('check', 'config', 'prometheus.yml')).toContain('SUCCESS');
  });

  it('passes promtool check rules for every rule file', () => {
    const output = promtool('check', 'rules', ...ruleFiles.map((file) => `rules/${file}`));
    expect(output.match(/SUCCESS/g)?.length).toBe(ruleFiles.length);
  });

  it('passes its promtool rule unit tests', () => {
    const tests = readdirSync(`${PROMETHEUS_DIR}/tests`).filter((file) => file.endsWith('.test.yml'));
    expect(tests.length).toBeGreaterThan(0);
    const output = promtool('test', 'rules', ...tests.map((file) => `tests/${file}`));
    expect(output.match(/SUCCESS/g)?.length).toBe(tests.length);
  });

  it('keeps 30 days of data (docker-compose.yml)', () => {
    const compose = readYaml<{ services: Record<string, { command: string[] }> }>('docker-compose.yml');
    expect(compose.services.prometheus?.command).toContain('--storage.tsdb.retention.time=30d');
  });
});

describe('Prometheus alert rules', () => {
  it("are exactly the alerting service's default alerts but the per-user one, with their severities and `for`", () => {
    expect(alerts.map((rule) => rule.alert).sort()).toEqual(PROMETHEUS_SEED.map((seed) => seed.name).sort());
    for (const seed of PROMETHEUS_SEED) {
      const rule = alerts.find((candidate) => candidate.alert === seed.name);
      expect(rule?.labels?.severity, seed.name).toBe(seed.severity);
      expect(seconds(rule?.for), seed.name).toBe(seed.forS);
    }
  });

  it('fire above the seed threshold and hold until the resolve threshold (hysteresis)', () => {
    for (const seed of PROMETHEUS_SEED) {
      if (!('fire' in seed)) continue;
      const expr = alerts.find((rule) => rule.alert === seed.name)?.expr ?? '';
      const [fireBranch = '', holdBranch = ''] = expr.split(/\bor\s*\(/);
      const value = (branch: string) => {
        const match = />=? ([\d.]+)\s*$/m.exec(branch.split('\n').find((line) => />=?\s*[\d.]+/.test(line)) ?? '');
        return Number(match?.[1]);
      };
      expect(value(fireBranch), seed.name).toBe(seed.fire);
      expect(value(holdBranch), seed.name).toBe(seed.resolve);
      expect(holdBranch, seed.name).toContain(`ALERTS{alertname="${seed.name}", alertstate="firing"}`);
    }
  });

  it('use the token thresholds that @flashcase/config defaults to', () => {
    const { tokens } = loadConfig('ai-proxy', {});
    const high = SEED.find((seed) => seed.name === 'HighTokenUsage');
    const elevated = SEED.find((seed) => seed.name === 'ElevatedTokenUsage');
    expect(high && 'fire' in high ? high.fire : 0).toBe(tokens.alertThreshold);
    expect(elevated && 'fire' in elevated ? elevated.fire : 0).toBe(tokens.warningThreshold);
    // The resolve thresholds sit at 90 %, as in the alerting service.
    expect(high && 'resolve' in high ? high.resolve : 0).toBe(Math.floor(tokens.alertThreshold * 0.9));
  });

  it("use AI_BUDGET_SOFT_RATIO's default for the monthly budget, on the ai-proxy gauges, never a user id", () => {
    const { budgets } = loadConfig('ai-proxy', {});
    const near = SEED.find((seed) => seed.name === 'MonthlyBudgetNearlySpent');
    expect(near && 'fire' in near ? near.fire : 0).toBe(budgets.softRatio);
    expect(near && 'resolve' in near ? near.resolve : 0).toBe(Math.round(budgets.softRatio * 0.95 * 10_000) / 10_000);
    // fire and hold; Exhausted also fires while refusing calls above 95 % (its monthly_usd rejections)
    for (const [name, uses] of [
      ['MonthlyBudgetNearlySpent', 2],
      ['MonthlyBudgetExhausted', 3],
    ] as const) {
      const expr = alerts.find((rule) => rule.alert === name)?.expr ?? '';
      expect(
        expr.match(/max\(flashcase_budget_monthly_spent\) \/ max\(flashcase_budget_monthly_limit\)/g),
        name,
      ).toHaveLength(uses);
    }
    const exhausted = alerts.find((rule) => rule.alert === 'MonthlyBudgetExhausted')?.expr ?? '';
    expect(exhausted).toContain('flashcase_budget_rejections_total{budget="monthly_usd"}');
    for (const rule of alerts) expect(rule.expr, rule.alert).not.toMatch(/user/);
  });

  it('gate PricingTableDrift, fire and hold alike, on 20 billed calls in the same 24 h as its drift', () => {
    const recorded = Object.fromEntries(
      readYaml<{ groups: Array<{ rules: Rule[] }> }>('infra/prometheus/rules', 'flashcase-recording.yml')
        .groups.flatMap((group) => group.rules)
        .map((rule) => [rule.record, rule.expr]),
    );
    const expr = alerts.find((rule) => rule.alert === 'PricingTableDrift')?.expr ?? '';
    expect(expr.match(/abs\(flashcase:ai_pricing_drift:ratio_24h\)/g)).toHaveLength(2);
    expect(expr.match(/and on \(\) flashcase:ai_pricing_check_calls:increase24h >= 20$/gm)).toHaveLength(2);
    expect(recorded['flashcase:ai_pricing_drift:ratio_24h']).toContain('{side="priced"}[24h]');
    expect(recorded['flashcase:ai_pricing_drift:ratio_24h']).toContain('{side="billed"}[24h]');
    expect(recorded['flashcase:ai_pricing_check_calls:increase24h']).toContain(
      'increase(flashcase_ai_pricing_check_calls_total[24h])',
    );
  });

  it('divide memory by the 512 MiB limit docker-compose.yml gives every FlashCase service', () => {
    const compose = readYaml<{
      services: Record<string, { deploy?: { resources?: { limits?: { memory?: string } } } }>;
    }>('docker-compose.yml');
    for (const name of ['gateway', 'ai-proxy', 'alerting']) {
      expect(compose.services[name]?.deploy?.resources?.limits?.memory, name).toBe('512M');
    }
    const memory = alerts.find((rule) => rule.alert === 'HighMemoryUsage')?.expr ?? '';
    expect(memory).toContain(`/ ${512 * 1024 * 1024}`);
  });

  it('link each alert to its section of docs/runbook.md, with a summary', () => {
    for (const rule of alerts) {
      const name = rule.alert ?? '';
      expect(rule.annotations?.runbook_url, name).toBe(`docs/runbook.md#${name.toLowerCase()}`);
      expect(rule.annotations?.summary, name).toBeTruthy();
    }
    const runbook = existsSync(repoPath('docs/runbook.md')) ? readText('docs/runbook.md') : '';
    for (const rule of alerts)
      expect(runbook, `docs/runbook.md has a "## ${rule.alert}" section`).toContain(`## ${rule.alert}\n`);
  });

  it('match the alerting service seed rules when that service is built', async () => {
    const seedModule = repoPath('services/alerting/dist/rules/seed.js');
    if (!existsSync(seedModule)) return;
    const { seedRules } = (await import(seedModule)) as {
      seedRules(
        config: unknown,
      ): Array<{ name: string; severity: string; forS: number; threshold: number; resolveThreshold: number }>;
    };
    const service = seedRules(loadConfig('alerting', {}));
    for (const rule of service) {
      const seed = SEED.find((candidate) => candidate.name === rule.name);
      expect(seed, rule.name).toBeDefined();
      expect(seed?.severity, rule.name).toBe(rule.severity);
      if (seed && 'fire' in seed) {
        expect(seed.fire, rule.name).toBe(rule.threshold);
        expect(seed.resolve, rule.name).toBe(rule.resolveThreshold);
        expect(seed.forS, rule.name).toBe(rule.forS);
      }
    }
    expect(service.map((rule) => rule.name).sort()).toEqual(SEED.map((seed) => seed.name).sort());
  });
});
