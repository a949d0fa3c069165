import { describe, expect, it } from 'vitest';
import { exportersOf, readCollectorConfig, resolve, undefinedComponents } from './helpers/collector';

// The Kubernetes production overlay's two collector tiers, beside the compose stack's single
// collector (otel-collector.yaml), whose trace handling they split between them.
const single = readCollectorConfig('otel-collector.yaml');
const balancer = readCollectorConfig('otel-collector-loadbalancer.yaml');
const sampler = readCollectorConfig('otel-collector-sampler.yaml');

describe('otel-collector-loadbalancer.yaml (tier 1)', () => {
  it('receives OTLP on 4317 (gRPC) and 4318 (HTTP), as the single collector does', () => {
    expect(balancer.receivers.otlp?.protocols).toEqual(single.receivers.otlp?.protocols);
    expect(balancer.extensions.health_check?.endpoint).toBe('0.0.0.0:13133');
    expect(balancer.service.extensions).toEqual(['health_check']);
  });

  it('routes every span by its trace id to the sampling tier over OTLP/gRPC, found by DNS', () => {
    const exporter = balancer.exporters.loadbalancing as {
      routing_key: string;
      protocol: { otlp: { tls: { insecure: boolean } } };
      resolver: { dns?: { hostname: string; port: number }; static?: unknown; k8s?: unknown };
    };
    expect(exporter.routing_key).toBe('traceID');
    expect(exporter.protocol.otlp.tls.insecure).toBe(true);
    expect(Object.keys(exporter.resolver)).toEqual(['dns']);
    expect(resolve(exporter.resolver.dns?.hostname)).toBe('otel-collector-sampler-headless');
    expect(exporter.resolver.dns?.port).toBe(4317);
    expect(balancer.service.pipelines.traces).toEqual({
      receivers: ['otlp'],
      processors: ['memory_limiter'],
      exporters: ['loadbalancing'],
    });
  });

  it('samples nothing and computes nothing from spans itself: that needs whole traces', () => {
    // (groupbyattrs/record_type regroups log records by an attribute: logs only, no trace needed)
    expect(Object.keys(balancer.processors).sort()).toEqual(['batch', 'groupbyattrs/record_type', 'memory_limiter']);
    expect(balancer.service.pipelines.traces?.processors).toEqual(['memory_limiter']);
    expect(balancer.connectors).toBeUndefined();
    expect(Object.keys(balancer.service.pipelines).sort()).toEqual(['logs', 'traces']);
  });

  it('sends logs straight to Loki, processed as the single collector does', () => {
    expect(exportersOf(balancer, 'logs')).toEqual(exportersOf(single, 'logs'));
    expect(balancer.service.pipelines.logs?.processors).toEqual(single.service.pipelines.logs?.processors);
    expect(balancer.exporters['otlp_http/loki']).toEqual(single.exporters['otlp_http/loki']);
  });
});

describe('otel-collector-sampler.yaml (tier 2)', () => {
  it('receives OTLP/gRPC only (from the load-balancing tier) on 4317', () => {
    expect(sampler.receivers.otlp?.protocols).toEqual({ grpc: { endpoint: '0.0.0.0:4317' } });
  });

  it('tail-samples with exactly the policies of otel-collector.yaml', () => {
    expect(sampler.processors.tail_sampling).toEqual(single.processors.tail_sampling);
    expect(sampler.service.pipelines.traces).toEqual(single.service.pipelines.traces);
    expect(sampler.exporters['otlp_grpc/tempo']).toEqual(single.exporters['otlp_grpc/tempo']);
  });

  it('computes span metrics and the service graph from every span, before sampling, as otel-collector.yaml does', () => {
    expect(sampler.connectors).toEqual(single.connectors);
    expect(sampler.service.pipelines['traces/spanmetrics']).toEqual(single.service.pipelines['traces/spanmetrics']);
    expect(sampler.service.pipelines.metrics?.receivers).toEqual(['spanmetrics', 'servicegraph']);
    expect(exportersOf(sampler, 'metrics')).toEqual(['prometheus']);
    expect(sampler.exporters.prometheus).toEqual(single.exporters.prometheus);
  });
});

describe.each([
  ['otel-collector-loadbalancer.yaml', balancer],
  ['otel-collector-sampler.yaml', sampler],
])('%s', (_file, config) => {
  it('puts memory_limiter first in every pipeline, with the single collector settings', () => {
    for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
      expect(pipeline.processors?.[0], name).toBe('memory_limiter');
    }
    expect(config.processors.memory_limiter).toEqual(single.processors.memory_limiter);
  });

  it('references only components it defines', () => {
    expect(undefinedComponents(config)).toEqual([]);
  });

  it('serves its own metrics on 8888 for the PodMonitor', () => {
    expect(JSON.stringify(config.service)).toContain('"port":8888');
  });
});
