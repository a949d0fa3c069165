// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} here is compose, collector and Grafana placeholder text, never a JS template
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type CollectorConfig,
  exportersOf as exportersOfConfig,
  type Pipeline,
  resolve,
  undefinedComponents,
} from './helpers/collector';
import { readText, readYaml } from './helpers/repo';

const TEXT = readText('otel-collector.yaml');
const config = parse(TEXT) as CollectorConfig;

function exportersOf(name: string, env: Record<string, string> = {}): string[] {
  return exportersOfConfig(config, name, env);
}

/** The commented vendor blocks, uncommented (`# ` lines; `##` lines are notes): `{ aws: 'awsxray: ...' }`. */
function vendorBlocks(): Record<string, string> {
  const blocks: Record<string, string> = {};
  for (const [, vendor, body] of TEXT.matchAll(/# --- vendor: (\w+) ---[^\n]*\n([\s\S]*?)\n\s*# --- end vendor ---/g)) {
    const yaml = (body as string)
      .split('\n')
      .filter((line) => /^ {2}# (?!-)/.test(line))
      .map((line) => line.replace(/^ {2}# /, ''))
      .join('\n');
    blocks[vendor as string] = yaml;
  }
  return blocks;
}

describe('otel-collector.yaml', () => {
  it('receives OTLP on 4317 (gRPC) and 4318 (HTTP) on every interface', () => {
    expect(config.receivers.otlp?.protocols).toEqual({
      grpc: { endpoint: '0.0.0.0:4317' },
      http: { endpoint: '0.0.0.0:4318' },
    });
  });

  it('serves health_check', () => {
    expect(config.service.extensions).toContain('health_check');
    expect(config.extensions.health_check?.endpoint).toBe('0.0.0.0:13133');
  });

  it('puts memory_limiter first in every pipeline and batches what it exports', () => {
    for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
      expect(pipeline.processors?.[0], name).toBe('memory_limiter');
      if (name !== 'traces/spanmetrics') expect(pipeline.processors?.at(-1), name).toBe('batch');
    }
    expect(config.processors.memory_limiter).toMatchObject({ check_interval: '1s', limit_percentage: 80 });
  });

  it('tail-samples the stored traces: every error, every slow trace, a ratio of the rest', () => {
    expect(config.service.pipelines.traces?.processors).toContain('tail_sampling');
    const policies = config.processors.tail_sampling?.policies as Array<Record<string, Record<string, unknown>>>;
    const byType = Object.fromEntries(policies.map((policy) => [policy.type as unknown as string, policy]));
    expect(byType.status_code?.status_code).toEqual({ status_codes: ['ERROR'] });
    expect(resolve(byType.latency?.latency?.threshold_ms)).toBe(2000);
    expect(resolve(byType.probabilistic?.probabilistic?.sampling_percentage)).toBe(10);
  });

  it('computes span metrics and the service graph from the unsampled traces', () => {
    const pipelines = Object.entries(config.service.pipelines);
    const feeding = pipelines.filter(
      ([name]) => name.startsWith('traces') && exportersOf(name).includes('spanmetrics'),
    );
    expect(feeding.length).toBe(1);
    const [, unsampled] = feeding[0] as [string, Pipeline];
    expect(unsampled.receivers).toEqual(['otlp']);
    expect(unsampled.processors).not.toContain('tail_sampling');
    expect(unsampled.exporters).toContain('servicegraph');
    expect(config.service.pipelines.metrics?.receivers).toEqual(
      expect.arrayContaining(['spanmetrics', 'servicegraph']),
    );
    expect(config.connectors?.spanmetrics).toMatchObject({
      namespace: 'traces.span.metrics',
      exemplars: { enabled: true },
    });
  });

  it('sends traces to Tempo, logs to Loki over OTLP, metrics to the Prometheus exporter by default', () => {
    expect(exportersOf('traces')).toEqual(['otlp_grpc/tempo']);
    expect(exportersOf('logs')).toEqual(['otlp_http/loki']);
    expect(exportersOf('metrics')).toEqual(['prometheus']);
    expect(resolve(config.exporters['otlp_grpc/tempo']?.endpoint)).toBe('tempo:4317');
    expect(resolve(config.exporters['otlp_http/loki']?.endpoint)).toBe('http://loki:3100/otlp');
    // infra/prometheus/prometheus.yml scrapes these two.
    expect(config.exporters.prometheus?.endpoint).toBe('0.0.0.0:8889');
    expect(config.exporters.prometheus?.enable_open_metrics).toBe(true);
  });

  it('switches the debug exporter on from the environment', () => {
    expect(config.exporters.debug).toMatchObject({ verbosity: '${env:OTELCOL_DEBUG_VERBOSITY:-basic}' });
    for (const signal of ['traces', 'metrics', 'logs']) {
      expect(exportersOf(signal)).not.toContain('debug');
      const variable = `OTELCOL_${signal.toUpperCase()}_EXPORTERS`;
      const exporters = exportersOf(signal, { [variable]: `[${exportersOf(signal).join(', ')}, debug]` });
      expect(exporters).toContain('debug');
    }
  });

  it('references only components it defines', () => {
    expect(undefinedComponents(config)).toEqual([]);
  });

  it('has commented, switchable exporter blocks for AWS, GCP, Azure Monitor, Datadog and Sentry-style vendors', () => {
    const blocks = vendorBlocks();
    expect(Object.keys(blocks).sort()).toEqual(['aws', 'azure', 'datadog', 'gcp', 'sentry']);
    const expected: Record<string, Record<string, string>> = {
      aws: { awsxray: 'region', awsemf: 'region', awscloudwatchlogs: 'log_group_name' },
      gcp: { googlecloud: 'project' },
      azure: { azuremonitor: 'connection_string' },
      datadog: { datadog: 'api' },
      sentry: { 'otlp_http/sentry': 'endpoint', 'otlp_http/vendor': 'endpoint' },
    };
    for (const [vendor, yaml] of Object.entries(blocks)) {
      const exporters = parse(yaml) as Record<string, Record<string, unknown>>;
      for (const [exporter, field] of Object.entries(expected[vendor] ?? {})) {
        expect(exporters[exporter], `${vendor}: ${exporter}`).toHaveProperty([field]);
        // Not defined live: a collector validates every configured component, used or not.
        expect(config.exporters[exporter], exporter).toBeUndefined();
      }
      // Uncommented into the exporters, the names can be listed in a pipeline.
      const switched = { ...config.exporters, ...exporters };
      const traces = exportersOf('traces', {
        OTELCOL_TRACES_EXPORTERS: `[otlp_grpc/tempo, ${Object.keys(exporters)[0]}]`,
      });
      for (const exporter of traces) expect(switched, `${vendor}: ${exporter}`).toHaveProperty([exporter]);
    }
  });

  it('is published on 4317/4318 by docker-compose.yml with a memory limit for memory_limiter', () => {
    const compose = readYaml<{
      services: Record<string, { ports?: string[]; deploy?: { resources?: { limits?: { memory?: string } } } }>;
    }>('docker-compose.yml');
    const collector = compose.services['otel-collector'];
    expect(collector?.ports?.map((port) => port.split(':').slice(-2).join(':'))).toEqual(['4317:4317', '4318:4318']);
    expect(collector?.deploy?.resources?.limits?.memory).toBeDefined();
  });
});
