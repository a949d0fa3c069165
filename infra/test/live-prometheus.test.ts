import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { eventually, sleep } from './helpers/processes';
import { instantQuery, labelValues, QueryError, type Sample } from './helpers/prometheus';
import { exposedMetricNames, metricNames, substituteGrafanaVariables } from './helpers/promql';
import { readJson, readText } from './helpers/repo';
import { type Stack, startStack } from './helpers/stack';
import { driveWave } from './helpers/traffic';

interface Target {
  expr?: string;
  refId: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
}
interface Dashboard {
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: { query: string } | string }> };
}
interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ record?: string; alert?: string; expr: string }> }>;
}

const DASHBOARD_FILES = readdirSync(`${__dirname}/../grafana/dashboards`).filter((file) => file.endsWith('.json'));
const dashboards = DASHBOARD_FILES.map((file) => ({
  file,
  dashboard: readJson<Dashboard>('infra/grafana/dashboards', file),
}));
const ruleFiles = readdirSync(`${__dirname}/../prometheus/rules`)
  .filter((file) => file.endsWith('.yml'))
  .map((file) => ({ file, rules: parse(readText('infra/prometheus/rules', file)) as RuleFile }));
const recordingRules = ruleFiles
  .flatMap(({ rules }) => rules.groups.flatMap((group) => group.rules))
  .filter((rule) => rule.record);
const alertRules = ruleFiles
  .flatMap(({ rules }) => rules.groups.flatMap((group) => group.rules))
  .filter((rule) => rule.alert);

const variableQueries = dashboards.flatMap(({ dashboard }) =>
  dashboard.templating.list.map((variable) => ({
    name: `${dashboard.title} / $${variable.name}`,
    query: typeof variable.query === 'string' ? variable.query : variable.query.query,
  })),
);

const panelQueries = dashboards.flatMap(({ dashboard }) =>
  dashboard.panels
    .filter((panel) => panel.type !== 'row')
    .flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({
        name: `${dashboard.title} / ${panel.title} / ${target.refId}`,
        expr: target.expr ?? '',
      })),
    ),
);

/** Metrics only the alerting service exports: tolerated missing from the scrape while it is not built. */
const ALERTING_SERVICE_METRICS = ['flashcase_alerts_firing', 'flashcase_alert_notifications_total'];

/**
 * Counters that appear in a scrape only once their event happened, which this suite does not cause:
 * `flashcase.ai.calls.recovered` needs an ai-proxy replica to die with calls in flight (the suite
 * stops its replica gracefully). Their names are checked against the instruments' OTel names
 * instead (the exporter's rule: dots -> underscores, `_total`), so a typo still fails.
 */
const EVENT_ONLY_METRICS: Record<string, string> = {
  flashcase_ai_calls_recovered_total: 'flashcase.ai.calls.recovered',
};

function hasData(samples: Sample[]): boolean {
  return samples.some((sample) => Number.isFinite(sample.value));
}

describe('dashboards and rules against a real Prometheus scraping the real services', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
    // Two waves a few scrapes apart, so every counter is seen rising (not only at its first value).
    const statuses = [...(await driveWave(stack, 1))];
    await sleep(2_500);
    statuses.push(...(await driveWave(stack, 2)));
    for (const status of [200, 404, 429, 502, 503]) expect(statuses, `a ${status} answer`).toContain(status);

    // A replica goes away: Prometheus' ServiceDown (its `for` shortened to 1s in the loopback
    // copy) fires and goes through Alertmanager to Slack; the alerting service, which watches
    // this replica, fires its own ServiceDown and posts to its webhook.
    const stopped = new URL(stack.aiProxies[1]?.metrics ?? 'http://x').host;
    await stack.aiProxies[1]?.process.stop();
    await eventually(`Alertmanager posts ServiceDown for ${stopped} to the Slack webhook`, async () =>
      stack.slack.bodies.find((body) => {
        const text = JSON.stringify(body);
        return text.includes('ServiceDown') && text.includes(stopped);
      }),
    );
    if (stack.alerting.length > 0) {
      await eventually('the alerting service posts ServiceDown to its webhook', async () =>
        stack.alertWebhook.bodies.find((body) => JSON.stringify(body).includes('ServiceDown')),
      );
    }
    // A last wave, then a few scrapes and rule evaluations, so every rate window ends on traffic.
    await driveWave(stack, 3);
    await sleep(3_000);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('scrapes every target it was given (the stopped replica aside)', async () => {
    const up = await instantQuery(stack.prometheus, 'up');
    const stopped = new URL(stack.aiProxies[1]?.metrics ?? 'http://x').host;
    const down = up.filter((sample) => sample.value !== 1 && sample.metric.instance !== stopped);
    expect(down, JSON.stringify(down)).toEqual([]);
    const jobs = new Set(up.map((sample) => sample.metric.job));
    for (const [job, urls] of Object.entries(stack.scraped)) {
      if (urls.length > 0) expect(jobs, job).toContain(job);
    }
  });

  it.each(recordingRules.map((rule) => [rule.record ?? '', rule.expr]))(
    'recording rule %s parses and returns data',
    async (_name, expr) => {
      expect(hasData(await instantQuery(stack.prometheus, expr))).toBe(true);
    },
  );

  it.each(recordingRules.map((rule) => [rule.record ?? '']))('recorded series %s exists', async (record) => {
    expect((await instantQuery(stack.prometheus, record)).length).toBeGreaterThan(0);
  });

  it.each(panelQueries.map((query) => [query.name, query.expr]))(
    'panel %s parses and returns data',
    async (name, expr) => {
      const query = substituteGrafanaVariables(expr);
      const alertingOnly = ALERTING_SERVICE_METRICS.some((metric) => query.includes(metric));
      let samples: Sample[];
      try {
        samples = await instantQuery(stack.prometheus, query);
      } catch (error) {
        if (error instanceof QueryError) throw new Error(`${name}: ${error.message}`);
        throw error;
      }
      if (alertingOnly && stack.alerting.length === 0) return; // parsed; no data without the service
      expect(hasData(samples), `${name}\n${query}\n${JSON.stringify(samples)}`).toBe(true);
    },
  );

  it.each(variableQueries.map((variable) => [variable.name, variable.query]))(
    'variable %s returns values',
    async (_name, query) => {
      const match = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(query);
      expect(match, query).not.toBeNull();
      const values = await labelValues(
        stack.prometheus,
        substituteGrafanaVariables(match?.[1] ?? ''),
        match?.[2] ?? '',
      );
      expect(values.length, query).toBeGreaterThan(0);
    },
  );

  it.each(alertRules.map((rule) => [rule.alert ?? '', rule.expr]))('alert rule %s parses', async (_name, expr) => {
    await instantQuery(stack.prometheus, expr);
  });

  it('fires ServiceDown for the stopped replica, visible in ALERTS', async () => {
    const stopped = new URL(stack.aiProxies[1]?.metrics ?? 'http://x').host;
    const firing = await instantQuery(stack.prometheus, 'ALERTS{alertname="ServiceDown", alertstate="firing"}');
    expect(firing.map((sample) => sample.metric.instance)).toContain(stopped);
    const slack = JSON.stringify(stack.slack.bodies);
    expect(slack).toContain('docs/runbook.md#servicedown');
  });

  it('uses only metric names that a scraped target exports, or that rules record', async () => {
    const exported = new Set<string>(['up', 'ALERTS', 'ALERTS_FOR_STATE']);
    for (const rule of recordingRules) exported.add(rule.record ?? '');
    for (const [job, urls] of Object.entries(stack.scraped)) {
      for (const url of urls) {
        if (url === stack.aiProxies[1]?.metrics || job === 'prometheus') continue; // stopped; unused
        const text = await (await fetch(url)).text();
        for (const name of exposedMetricNames(text)) exported.add(name);
      }
    }
    const used = new Map<string, string>();
    for (const query of panelQueries) for (const name of metricNames(query.expr)) used.set(name, query.name);
    for (const variable of variableQueries) {
      for (const name of metricNames(variable.query.replace(/^label_values\((.+),[^,]+\)$/, '$1'))) {
        used.set(name, variable.name);
      }
    }
    for (const rule of [...recordingRules, ...alertRules]) {
      for (const name of metricNames(rule.expr)) used.set(name, rule.record ?? rule.alert ?? '');
    }
    const unknown = [...used.entries()].filter(
      ([name]) =>
        !exported.has(name) &&
        !(stack.alerting.length === 0 && ALERTING_SERVICE_METRICS.includes(name)) &&
        EVENT_ONLY_METRICS[name] === undefined,
    );
    expect(unknown, 'metric names no target exports').toEqual([]);
    const instruments = readText('packages/telemetry/src/metrics/instruments.ts');
    for (const [name, instrument] of Object.entries(EVENT_ONLY_METRICS)) {
      expect(`${instrument.replace(/\./g, '_')}_total`, name).toBe(name);
      expect(instruments, `${name} is the instrument ${instrument}`).toContain(`'${instrument}'`);
      expect(used.has(name), `${name} is used`).toBe(true);
    }
    // The check would catch a typo: it sees every contract metric it should.
    for (const name of [
      'http_server_request_duration_bucket',
      'flashcase_ai_tokens_total',
      'gen_ai_client_token_usage_bucket',
      'flashcase_ai_tokens_detail_total',
      'flashcase_ai_pricing_check_total',
      'flashcase_ai_pricing_check_calls_total',
      'gen_ai_client_operation_time_to_first_chunk_bucket',
      'flashcase_ai_usage_invalid_total',
      'flashcase_budget_monthly_spent',
      'flashcase_budget_monthly_limit',
    ]) {
      expect(used.has(name), name).toBe(true);
      expect(exported.has(name), name).toBe(true);
    }
  });
});
