// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} here is compose, collector and Grafana placeholder text, never a JS template
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readJson, readYaml } from './helpers/repo';

interface Datasource {
  name: string;
  uid: string;
  type: string;
  url: string;
  jsonData: Record<string, unknown>;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ refId: string; expr?: string; datasource?: { uid: string } }>;
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; datasource: { uid: string } }> };
}

const { datasources } = readYaml<{ datasources: Datasource[] }>(
  'infra/grafana/provisioning/datasources/datasources.yml',
);
const byUid = Object.fromEntries(datasources.map((datasource) => [datasource.uid, datasource]));
const files = readdirSync(`${__dirname}/../grafana/dashboards`).filter((file) => file.endsWith('.json'));
const dashboards = files.map((file) => readJson<Dashboard>('infra/grafana/dashboards', file));

describe('Grafana data sources', () => {
  it('have fixed uids: prometheus, tempo, loki (and alertmanager)', () => {
    expect(datasources.map((datasource) => [datasource.uid, datasource.type])).toEqual([
      ['prometheus', 'prometheus'],
      ['tempo', 'tempo'],
      ['loki', 'loki'],
      ['alertmanager', 'alertmanager'],
    ]);
  });

  it('take their URLs from the environment docker-compose.yml sets', () => {
    expect(datasources.map((datasource) => datasource.url)).toEqual([
      '${PROMETHEUS_URL}',
      '${TEMPO_URL}',
      '${LOKI_URL}',
      '${ALERTMANAGER_URL}',
    ]);
    const grafana = readYaml<{ services: { grafana: { environment: Record<string, string> } } }>('docker-compose.yml')
      .services.grafana;
    expect(grafana.environment).toMatchObject({
      PROMETHEUS_URL: '${PROMETHEUS_URL:-http://prometheus:9090}',
      TEMPO_URL: '${TEMPO_URL:-http://tempo:3200}',
      LOKI_URL: '${LOKI_URL:-http://loki:3100}',
    });
  });

  it('link Prometheus exemplars to Tempo', () => {
    expect(byUid.prometheus?.jsonData.exemplarTraceIdDestinations).toEqual([
      expect.objectContaining({ name: 'trace_id', datasourceUid: 'tempo' }),
    ]);
  });

  it('link Tempo traces to logs, to metrics and to the service map', () => {
    const tempo = byUid.tempo?.jsonData as Record<string, { datasourceUid: string; queries?: unknown[] }>;
    expect(tempo.tracesToLogsV2?.datasourceUid).toBe('loki');
    expect(tempo.tracesToMetrics?.datasourceUid).toBe('prometheus');
    expect(tempo.tracesToMetrics?.queries?.length).toBeGreaterThan(0);
    expect(tempo.serviceMap?.datasourceUid).toBe('prometheus');
  });

  it('link Loki trace_id to Tempo', () => {
    const fields = byUid.loki?.jsonData.derivedFields as Array<{
      datasourceUid: string;
      matcherRegex: string;
      url: string;
    }>;
    expect(fields.length).toBeGreaterThan(0);
    for (const field of fields) {
      expect(field.datasourceUid).toBe('tempo');
      expect(field.url).toBe('$${__value.raw}');
    }
    expect(fields.map((field) => field.matcherRegex)).toContain('trace_id');
  });

  it('escape every literal $ as $$ (Grafana expands environment variables in provisioning values)', () => {
    const values: string[] = [];
    const walk = (value: unknown): void => {
      if (typeof value === 'string') values.push(value);
      else if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') Object.values(value).forEach(walk);
    };
    walk(datasources);
    const unescaped = values.flatMap((value) =>
      [...value.replace(/\$\$/g, '').matchAll(/\$\{?[A-Za-z_][A-Za-z0-9_]*/g)].map((match) => match[0]),
    );
    expect(unescaped.sort()).toEqual(['${ALERTMANAGER_URL', '${LOKI_URL', '${PROMETHEUS_URL', '${TEMPO_URL']);
  });
});

describe('Grafana dashboards', () => {
  it('are the four of the issue, each with a unique uid', () => {
    expect(dashboards.map((dashboard) => dashboard.title).sort()).toEqual([
      'AI usage & cost',
      'Alerts',
      'Runtime',
      'Service RED',
    ]);
    expect(new Set(dashboards.map((dashboard) => dashboard.uid)).size).toBe(dashboards.length);
  });

  it.each(dashboards.map((dashboard) => [dashboard.title, dashboard]))(
    '%s: every panel queries a provisioned data source',
    (_title, dashboard) => {
      const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
      expect(panels.length).toBeGreaterThan(0);
      expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
      for (const panel of panels) {
        expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
        expect(byUid, panel.title).toHaveProperty([panel.datasource?.uid ?? '']);
        for (const target of panel.targets ?? []) {
          expect(target.expr, `${panel.title} ${target.refId}`).toBeTruthy();
          expect(byUid, panel.title).toHaveProperty([target.datasource?.uid ?? '']);
        }
      }
      for (const variable of dashboard.templating.list) expect(byUid).toHaveProperty([variable.datasource.uid]);
    },
  );

  it('cover what the issue lists for each dashboard', () => {
    const exprs = (title: string) =>
      dashboards
        .find((dashboard) => dashboard.title === title)
        ?.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? ''))
        .join('\n') ?? '';
    const ai = exprs('AI usage & cost');
    for (const needle of [
      'by (type)',
      'by (model)',
      'by (operation)',
      'flashcase:ai_cost_usd:projected_hourly',
      'flashcase:ai_cost_usd:projected_monthly',
      'flashcase_ai_requests_total',
      'histogram_quantile(0.99, sum by (le) (rate(gen_ai_client_operation_duration_bucket',
      'outcome!="success"',
      'flashcase_ratelimit_rejections_total',
      'flashcase_ai_tokens_detail_total{type="reasoning"',
      'flashcase_ai_tokens_detail_total{type="cached_prompt"',
      'sum by (source) (rate(flashcase_ai_cost_total',
      'flashcase_ai_pricing_check_total{side="priced"',
      'flashcase_ai_pricing_check_total{side="billed"',
      'histogram_quantile(0.95, sum by (gen_ai_request_model, le) (rate(gen_ai_client_operation_time_to_first_chunk_bucket',
      'flashcase_ai_calls_recovered_total',
      'flashcase_ai_usage_invalid_total',
    ]) {
      expect(ai, needle).toContain(needle);
    }
    const red = exprs('Service RED');
    for (const needle of [
      'http_response_status_code=~"4.."',
      'http_response_status_code=~"5.."',
      'histogram_quantile(0.50',
      'histogram_quantile(0.95',
      'histogram_quantile(0.99',
      'http_server_active_requests',
      'http_route',
    ]) {
      expect(red, needle).toContain(needle);
    }
    const runtime = exprs('Runtime');
    for (const needle of [
      'process_cpu_time_total',
      'process_memory_usage',
      'nodejs_eventloop_delay_p99',
      'redis_commands_processed_total',
      'flashcase_store_degraded',
    ]) {
      expect(runtime, needle).toContain(needle);
    }
    const alerts = exprs('Alerts');
    for (const needle of [
      'ALERTS{alertstate="firing"}',
      'flashcase_alerts_firing',
      'flashcase_alert_notifications_total',
      'alertmanager_notifications_total',
    ]) {
      expect(alerts, needle).toContain(needle);
    }
  });
});
