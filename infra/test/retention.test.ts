import { describe, expect, it } from 'vitest';
import { type CollectorConfig, readCollectorConfig } from './helpers/collector';
import { readText, readYaml } from './helpers/repo';

interface LokiConfig {
  limits_config: {
    retention_period: string;
    retention_stream?: { selector: string; priority: number; period: string }[];
    otlp_config?: { resource_attributes?: { attributes_config?: { action: string; attributes: string[] }[] } };
  };
  compactor: { retention_enabled: boolean };
}

const USAGE_SELECTOR = '{record_type="ai_usage"}';
const loki = readYaml<LokiConfig>('infra/loki/loki.yml');
/** Every collector that sends logs to Loki: the one-host collector and the production load-balancing tier. */
const LOG_COLLECTORS = ['otel-collector.yaml', 'otel-collector-loadbalancer.yaml'];
const docs = readText('docs/production-monitoring.md');

describe('retention of the usage trail: a year of usage records, 30 days of everything else', () => {
  it('Loki keeps the usage stream 8760h and every other stream 720h, through its compactor', () => {
    expect(loki.limits_config.retention_period).toBe('720h');
    expect(loki.limits_config.retention_stream).toEqual([{ selector: USAGE_SELECTOR, priority: 1, period: '8760h' }]);
    expect(loki.compactor.retention_enabled).toBe(true);
  });

  it('Loki indexes record_type, the label the retention selects, from the OTLP resource', () => {
    expect(loki.limits_config.otlp_config?.resource_attributes?.attributes_config).toContainEqual({
      action: 'index_label',
      attributes: ['record_type'],
    });
  });

  it.each(LOG_COLLECTORS)("%s moves record_type to the logs' resource before they are batched to Loki", (file) => {
    const collector: CollectorConfig = readCollectorConfig(file);
    expect(collector.processors['groupbyattrs/record_type']).toEqual({ keys: ['record_type'] });
    const logs = collector.service.pipelines.logs?.processors ?? [];
    expect(logs[0]).toBe('memory_limiter');
    expect(logs.indexOf('groupbyattrs/record_type')).toBeGreaterThan(0);
    expect(logs.indexOf('groupbyattrs/record_type')).toBeLessThan(logs.indexOf('batch'));
  });

  it('selects what ai-proxy writes and what pnpm reconcile --loki reads', () => {
    expect(readText('packages/telemetry/src/logging/ai-logger.ts')).toContain("record_type: 'ai_usage'");
    expect(readText('tools/cli/src/reconcile/options.ts')).toContain(`'${USAGE_SELECTOR}'`);
  });

  it('docs/production-monitoring.md states both retentions, the measured bytes per call, and a line per cloud backend', () => {
    const section = docs.slice(docs.indexOf('### Retention'), docs.indexOf('### The usage trail'));
    expect(section).toContain('8760h');
    expect(section).toContain('720h');
    expect(section).toMatch(/\*\*\d+ bytes\*\* per record/);
    // one line for each vendor block the collector config offers
    const vendors = [...readText('otel-collector.yaml').matchAll(/# --- vendor: (\w+) ---/g)].map((m) => m[1]);
    const names: Record<string, string> = {
      aws: 'AWS',
      gcp: 'Google Cloud',
      azure: 'Azure',
      datadog: 'Datadog',
      sentry: 'Sentry',
    };
    expect(vendors.length).toBeGreaterThan(0);
    for (const vendor of vendors) expect(section, vendor).toContain(`- **${names[vendor as string]}`);
  });
});
