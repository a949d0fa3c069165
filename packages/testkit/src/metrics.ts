import { AggregationTemporality, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** A pull reader for tests: `collect()` returns what the instruments hold right now. */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface PointView {
  name: string;
  attributes: Record<string, unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: -- sum, gauge and histogram values differ in shape
  value: any;
}

/** A MeterProvider with a cumulative in-memory reader, and a flat view of every data point. */
export function testMeters() {
  const reader = new TestReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  const provider = new MeterProvider({ readers: [reader] });
  return {
    meter: provider.getMeter('test'),
    async points(): Promise<PointView[]> {
      const { resourceMetrics } = await reader.collect();
      return flatten(resourceMetrics);
    },
    shutdown: () => provider.shutdown(),
  };
}

function flatten(resourceMetrics: ResourceMetrics): PointView[] {
  const out: PointView[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      for (const point of metric.dataPoints) {
        out.push({ name: metric.descriptor.name, attributes: point.attributes, value: point.value });
      }
    }
  }
  return out;
}
