import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@flashcase/config';
import { describe, expect, it } from 'vitest';
import { loadRules, parseDuration, parseRules, RulesError } from '../../src/rules/load';
import { seedRules } from '../../src/rules/seed';

const config = loadConfig('alerting', { ENVIRONMENT: 'test', TOKEN_USAGE_ALERT_THRESHOLD: '200000' });

describe('seed rules', () => {
  const rules = seedRules(config);

  it("are the seed's seven, PricingTableDrift and the three budget alerts, with the contract's severities and thresholds", () => {
    const summary = Object.fromEntries(rules.map((r) => [r.name, [r.severity, r.signal, r.threshold]]));
    expect(summary).toEqual({
      HighTokenUsage: ['critical', 'ai_tokens_last_hour', 200_000],
      HighErrorRate: ['critical', 'gateway_error_rate', 0.05],
      ServiceDown: ['critical', 'service_health_failures', 3],
      HighResponseTime: ['critical', 'gateway_latency_p95_s', 5],
      ElevatedTokenUsage: ['warning', 'ai_tokens_last_hour', 100_000],
      IncreasedErrorRate: ['warning', 'gateway_error_rate', 0.02],
      HighMemoryUsage: ['warning', 'service_memory_utilization', 0.8],
      PricingTableDrift: ['warning', 'ai_pricing_drift', 0.05],
      UserBudgetNearlySpent: ['warning', 'ai_user_budget_ratio', 0.8],
      MonthlyBudgetNearlySpent: ['warning', 'ai_monthly_budget_ratio', 0.8],
      MonthlyBudgetExhausted: ['critical', 'ai_monthly_budget_ratio', 1],
    });
    const windows = rules.filter((r) => r.signal.startsWith('gateway_')).map((r) => [r.windowS, r.minRequests]);
    expect(windows).toEqual([
      [300, 20],
      [300, 20],
      [300, 20],
    ]);
    expect(rules.find((r) => r.name === 'PricingTableDrift')).toMatchObject({
      comparison: '>',
      resolveThreshold: 0.03,
      forS: 900,
      minRequests: 20,
      runbookUrl: 'docs/runbook.md#pricingtabledrift',
    });
    expect(rules.find((r) => r.name === 'ServiceDown')).toMatchObject({
      comparison: '>=',
      services: ['gateway', 'ai-proxy'],
    });
  });

  it('each resolve below its fire threshold (hysteresis)', () => {
    for (const rule of rules) expect(rule.resolveThreshold).toBeLessThan(rule.threshold);
  });

  it('each link to its own section of docs/runbook.md', async () => {
    const runbook = await readFile(join(__dirname, '../../../../docs/runbook.md'), 'utf8');
    const anchors = [...runbook.matchAll(/^## (\w+)\s*$/gm)].map((m) => `docs/runbook.md#${m[1]?.toLowerCase()}`);
    for (const rule of rules) expect(anchors).toContain(rule.runbookUrl);
  });
});

describe('rules file (YAML)', () => {
  it('reads every field, with defaults for the optional ones', () => {
    const [tokens, errors, memory] = parseRules(`
rules:
  - name: TokensHigh
    severity: critical
    signal: ai_tokens_last_hour
    threshold: 1000
    for: 2m
    labels: { team: platform }
    summary: "{{value}} tokens"
    runbook_url: https://runbooks.example/tokens
  - name: Errors
    severity: warning
    signal: gateway_error_rate
    threshold: 0.1
    resolve_threshold: 0.05
    window: 10m
    min_requests: 50
    summary: errors
  - name: Memory
    severity: warning
    signal: service_memory_utilization
    comparison: ">="
    threshold: 0.9
    services: [ai-proxy]
    summary: memory
`);
    expect(tokens).toMatchObject({
      threshold: 1000,
      resolveThreshold: 900,
      forS: 120,
      comparison: '>',
      labels: { team: 'platform' },
      runbookUrl: 'https://runbooks.example/tokens',
      services: [],
    });
    expect(errors).toMatchObject({
      windowS: 600,
      minRequests: 50,
      resolveThreshold: 0.05,
      forS: 0,
      runbookUrl: 'docs/runbook.md#errors',
    });
    expect(memory).toMatchObject({ comparison: '>=', services: ['ai-proxy'] });
  });

  it('reads ai_pricing_drift with its min_requests (billed calls), and refuses a window for it', () => {
    const [drift] = parseRules(`
rules:
  - name: Drift
    severity: warning
    signal: ai_pricing_drift
    threshold: 0.1
    resolve_threshold: 0.05
    for: 30m
    min_requests: 100
    summary: "{{value}} off the bill"
`);
    expect(drift).toMatchObject({
      signal: 'ai_pricing_drift',
      threshold: 0.1,
      resolveThreshold: 0.05,
      forS: 1800,
      minRequests: 100,
      services: [],
    });
    expect(() =>
      parseRules(
        'rules:\n  - name: A\n    severity: warning\n    signal: ai_pricing_drift\n    threshold: 0.05\n    window: 1h\n    summary: s',
      ),
    ).toThrow('window applies only to the gateway_* signals');
  });

  it.each([
    ['rules: []', 'rules'],
    [
      'rules:\n  - name: A\n    severity: critical\n    signal: nope\n    threshold: 1\n    summary: s',
      'rules[0] (A).signal',
    ],
    [
      'rules:\n  - name: A\n    severity: loud\n    signal: ai_tokens_last_hour\n    threshold: 1\n    summary: s',
      'rules[0] (A).severity',
    ],
    [
      'rules:\n  - name: A\n    severity: critical\n    signal: ai_tokens_last_hour\n    threshold: 1\n    summary: s\n    treshold: 2',
      'rules[0] (A)',
    ],
    [
      'rules:\n  - name: A\n    severity: critical\n    signal: ai_tokens_last_hour\n    threshold: 10\n    resolve_threshold: 10\n    summary: s',
      'resolve_threshold must be below threshold',
    ],
    [
      'rules:\n  - name: A\n    severity: critical\n    signal: ai_tokens_last_hour\n    threshold: 10\n    for: soon\n    summary: s',
      'rules[0] (A).for',
    ],
    [
      'rules:\n  - name: A\n    severity: critical\n    signal: gateway_error_rate\n    threshold: 0.1\n    window: 90s\n    summary: s',
      'window must be whole minutes',
    ],
    [
      'rules:\n  - name: A\n    severity: critical\n    signal: service_health_failures\n    threshold: 3\n    services: [alerting]\n    summary: s',
      'cannot watch its own',
    ],
    [
      'rules:\n  - name: A\n    severity: critical\n    signal: ai_tokens_last_hour\n    threshold: 1\n    summary: s\n  - name: A\n    severity: warning\n    signal: ai_tokens_last_hour\n    threshold: 1\n    summary: s',
      'rules[1] (A).name is used',
    ],
    ['rules: [', 'not valid YAML'],
  ])('refuses %j naming %s', (text, expected) => {
    expect(() => parseRules(text)).toThrow(RulesError);
    expect(() => parseRules(text)).toThrow(expected);
  });

  it('parses durations in s, m, h and plain seconds', () => {
    expect([
      parseDuration('0'),
      parseDuration(30),
      parseDuration('45s'),
      parseDuration('5m'),
      parseDuration('1.5h'),
      parseDuration('500ms'),
    ]).toEqual([0, 30, 45, 300, 5400, 0.5]);
    expect(parseDuration('five')).toBeUndefined();
  });

  it('loads ALERT_RULES_FILE when set, and says which file when it cannot be read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flashcase-rules-'));
    try {
      const file = join(dir, 'rules.yaml');
      await writeFile(
        file,
        'rules:\n  - name: Only\n    severity: warning\n    signal: ai_tokens_last_hour\n    threshold: 5\n    summary: s\n',
      );
      const custom = loadConfig('alerting', { ENVIRONMENT: 'test', ALERT_RULES_FILE: file });
      expect(loadRules(custom).map((r) => r.name)).toEqual(['Only']);
      const missing = loadConfig('alerting', { ENVIRONMENT: 'test', ALERT_RULES_FILE: join(dir, 'missing.yaml') });
      expect(() => loadRules(missing)).toThrow(/ALERT_RULES_FILE .*missing\.yaml cannot be read: ENOENT/);
      expect(loadRules(config)).toHaveLength(11);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
